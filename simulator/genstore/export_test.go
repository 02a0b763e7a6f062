package genstore

import "github.com/pspsim/pspsim/simulator/delivery"

// Resumer returns the resumer Genstore registers under name (the name a
// delivery's Request.Resume carries), for tests that resume a stored message
// as a durable sender would.
func (s *System) Resumer(name string) delivery.Resumer { return s.resumers()[name] }
