package acl

// Unrestricted reports whether the user may run every command on every key
// and channel (the root selector has +@all, allkeys and allchannels), so a
// server can skip Check entirely on its data path.
func (u *User) Unrestricted() bool {
	if len(u.sels) == 0 {
		return false
	}
	s := u.sels[0]
	return s.allCommands && s.allKeys && s.allChannels
}
