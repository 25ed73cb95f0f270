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

// controlMaxValue bounds one reply on the control path: a topology or a
// probe's answer is kilobytes; a backend that sends more is refused
// instead of filling memory (a decoded value costs some 72 bytes per
// element, however small on the wire).
const (
	controlMaxValue = 2 << 20
	controlMaxArgs  = 1 << 16
)

func controlLimits() resp.Limits {
	l := resp.DefaultLimits()
	l.MaxValue = controlMaxValue
	l.MaxBulk = controlMaxValue
	l.MaxArgs = controlMaxArgs
	return l
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
	rd := resp.NewReader(bufio.NewReader(nc), controlLimits())
	if t.Password != "" {
		v, err := rd.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("AUTH: %w", err)
		}
		if v.Type == resp.TypeError {
			return nil, fmt.Errorf("AUTH: %s", t.redactAuthError(v.Str))
		}
	}
	vals := make([]resp.Value, 0, len(cmds))
	for range cmds {
		raw, err := rd.ReadRaw()
		if err != nil {
			return nil, err
		}
		// A Value points into the reader's buffer: decode a copy.
		v, err := resp.NewReader(bytes.NewReader(bytes.Clone(raw)), controlLimits()).ReadValue()
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}
