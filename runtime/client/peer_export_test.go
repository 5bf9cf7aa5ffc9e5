package client

// Hooks the tests of package client_test reach.

// SendPerConsumerControl calls p.sendPerConsumerControl under its lock.
func SendPerConsumerControl(p *Producer, msg []byte, progressOnly bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sendPerConsumerControl(msg, progressOnly)
}

// SetOnProgress sets the consumer's FrameProgress hook.
func SetOnProgress(s *Consumer, f func(msg []byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peer.onProgress = f
}
