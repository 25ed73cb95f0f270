package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"redoubt/internal/resp"
)

// dialTarget connects to t (TCP, unix socket, TLS) within ctx.
func dialTarget(ctx context.Context, t Target) (net.Conn, error) {
	network := t.Network
	if network == "" {
		network = "tcp"
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, t.Addr)
	if err != nil {
		return nil, err
	}
	if t.TLS != nil {
		tc := tls.Client(nc, t.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return nc, nil
}

// Do runs commands on a connection of its own to t — logged in, in
// RESP2 — and returns their replies: a control path (the cluster's
// topology, probes), not the data path. ctx bounds it all; an error reply
// is a value, not an error. The password is never part of an error.
func Do(ctx context.Context, t Target, cmds ...[][]byte) ([]resp.Value, error) {
	nc, err := dialTarget(ctx, t)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	var out []byte
	if t.Password != "" {
		if t.Username != "" {
			out = resp.AppendCommand(out, []byte("AUTH"), []byte(t.Username), []byte(t.Password))
		} else {
			out = resp.AppendCommand(out, []byte("AUTH"), []byte(t.Password))
		}
	}
	for _, c := range cmds {
		out = resp.AppendCommand(out, c...)
	}
	if _, err := nc.Write(out); err != nil {
		return nil, err
	}
	rd := resp.NewReader(bufio.NewReader(nc), resp.DefaultLimits())
	if t.Password != "" {
		v, err := rd.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("AUTH: %w", err)
		}
		if v.Type == resp.TypeError {
			return nil, fmt.Errorf("AUTH: %s", v.Str)
		}
	}
	vals := make([]resp.Value, 0, len(cmds))
	for range cmds {
		raw, err := rd.ReadRaw()
		if err != nil {
			return nil, err
		}
		// A Value points into the reader's buffer: decode a copy.
		v, err := resp.NewReader(bytes.NewReader(bytes.Clone(raw)), resp.DefaultLimits()).ReadValue()
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}
