package executor

import "github.com/picloud/picloud/rhai"

// HostModules are the stateless host modules whose calls Config.OnHostCall
// counts (kv::, secret() and http:: have metrics of their own).
var HostModules = []string{"crypto", "hex", "base64", "time", "webhook", "events"}

// hostModule builds a host module whose every function counts its calls
// before it runs (count nil: nothing is counted).
type hostModule struct {
	*rhai.Module
	count func()
}

func newHostModule(count func()) hostModule { return hostModule{rhai.NewModule(), count} }

// SetFn registers fn, counted.
func (h hostModule) SetFn(name string, params []rhai.Type, fn rhai.NativeFunc) {
	if h.count != nil {
		inner := fn
		fn = func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			h.count()
			return inner(c, a)
		}
	}
	h.Module.SetFn(name, params, fn)
}
