package server

import "redoubt/internal/command"

// pubsubCommands are the publish/subscribe commands. (Stub; the pub/sub
// work fills it.)
func pubsubCommands() map[string]connHandler { return map[string]connHandler{} }

// psState is a connection's subscriptions and its queue of messages not
// yet written. (Stub.)
type psState struct{}

// pubsubIntercept answers commands a RESP2 subscriber may not run, and
// reports whether it did. (Stub.)
func (c *conn) pubsubIntercept(spec *command.Spec, args [][]byte) bool { return false }

// deliverPush writes the queued messages to the connection's writer. It
// runs on the connection's goroutine after wake. (Stub.)
func (c *conn) deliverPush() {}

// resetPubsub drops every subscription (RESET). (Stub.)
func (c *conn) resetPubsub() {}

// closePubsub drops every subscription as the connection closes. (Stub.)
func (c *conn) closePubsub() {}
