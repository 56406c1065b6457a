package rhai

// STUB: owned by helper-fmt, to be replaced.
func stdMath(m *Module) {}
