// Command loadtool measures what redis-benchmark cannot: the memory of many
// idle authenticated connections, and the cost of AUTH, alone and under a
// flood of wrong passwords. It talks to servers on this machine only
// (loopback addresses), and every loop it runs is bounded in count and time.
//
//	go run ./scripts/loadtool idle -addr 127.0.0.1:6379 -n 10000 -user U -pass P -pid PID
//	go run ./scripts/loadtool auth -addr 127.0.0.1:6379 -user U -pass P -pid PID -wrong 20000
//	go run ./scripts/loadtool xproto -addr 127.0.0.1:6379 -pid PID -n 100000
//
// Each subcommand prints its results as one line of key=value pairs on
// standard output (for scripts/bench.sh) and details on standard error.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "idle":
		err = runIdle(os.Args[2:])
	case "auth":
		err = runAuth(os.Args[2:])
	case "xproto":
		err = runXproto(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  loadtool idle -addr HOST:PORT -n N [-user U] -pass P -pid PID
      open N connections, AUTH each, report the server's RSS growth per connection
  loadtool auth -addr HOST:PORT [-user U] -pass P -pid PID [-wrong N -flood-user V]
      AUTH rate and server CPU per AUTH; then GET throughput with and without
      a flood of wrong-password AUTHs from 127.0.0.2…127.0.0.250
  loadtool xproto -addr HOST:PORT -pid PID [-n 100000]
      GET throughput without and then during a flood of cross-protocol
      attempts (HTTP POSTs) from 127.0.0.2…127.0.0.250
run "loadtool idle -h" or "loadtool auth -h" for every flag`)
	os.Exit(2)
}
