package threeds

// Waiting is how many OnComplete closures s holds, for tests.
func Waiting(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.callbacks)
}
