package server

import "redoubt/internal/command"

// txCommands are MULTI, EXEC, DISCARD, WATCH and UNWATCH. (Stub; the
// transactions work fills it.)
func txCommands() map[string]connHandler { return map[string]connHandler{} }

// txState is a connection's transaction state. (Stub.)
type txState struct{}

// txIntercept queues spec inside MULTI and reports whether it did. (Stub.)
func (c *conn) txIntercept(spec *command.Spec, args [][]byte) bool { return false }

// resetTx ends the transaction and the WATCHes (RESET). (Stub.)
func (c *conn) resetTx() {}

// closeTx drops the connection's transaction, WATCH and blocking state as
// it closes. (Stub.)
func (c *conn) closeTx() {}
