package rhai

// Memory and work guards for the standard library.
//
// Every native that can grow a value checks the size limit for the result
// before it allocates (Context.CheckStringSize / CheckArraySize /
// CheckMapSize), and every native whose work grows with the size of its
// arguments charges operations for it before doing it:
//
//   - one operation per element of an array or entry of a map it walks or
//     builds, one per comparison for a sort, charged as it goes;
//   - one operation per 32 bytes (bytesPerOp, see memory.go) of a string or
//     BLOB it walks or builds, the rate of every byte copy in the engine.
//
// A charge that would take the evaluation past its operation budget is refused
// before the work starts: the evaluation ends with ErrorTooManyOperations and
// reports one operation more than its budget, as if it had stopped exactly at
// the limit, so that refused work is never billed.

// charge accounts for n operations of work a native is about to do. It fails
// with ErrorTooManyOperations, before the work, when the work would exceed the
// budget, and with ErrorTerminated when the evaluation was cancelled.
func charge(c *Context, n int) error {
	if c == nil || c.th == nil || n <= 0 {
		return nil
	}
	th := c.th
	if th.maxOps > 0 && (uint64(n) > th.maxOps || th.ops+uint64(n) > th.maxOps) {
		if th.ops <= th.maxOps {
			th.ops = th.maxOps + 1
		}
		return &Error{Kind: ErrTooManyOperations, Message: "Too many operations"}
	}
	return th.tick(n)
}

// chargeBytes charges for n bytes of string or BLOB work.
func chargeBytes(c *Context, n int) error {
	return charge(c, n/bytesPerOp)
}

// checkString is CheckStringSize made safe for a Context without an
// evaluation behind it (unit tests call natives with a nil Context).
func checkString(c *Context, n int) error {
	if c == nil || c.th == nil {
		return nil
	}
	return c.CheckStringSize(n)
}

// growString checks that a string of n bytes is allowed and charges for
// building it.
func growString(c *Context, n int) error {
	if err := checkString(c, n); err != nil {
		return err
	}
	if c != nil && !c.th.fits(n) {
		return errMemory()
	}
	return chargeBytes(c, n)
}

// growArray checks that an array (or BLOB, with per = bytesPerOp) of n elements
// is allowed and charges for building add of them.
func growArray(c *Context, n, add int) error {
	if err := collCheckArray(c, n); err != nil {
		return err
	}
	if c != nil && !c.th.fits(add*valueBytes) {
		return errMemory()
	}
	return charge(c, add)
}
