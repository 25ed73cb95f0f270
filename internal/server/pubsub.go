package server

// pubsubCommands are the publish/subscribe commands. (Stub; the pub/sub
// work fills it.)
func pubsubCommands() map[string]connHandler { return map[string]connHandler{} }
