package executor

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// KVConfig connects kv:: to its store. A nil Store makes every kv:: call a
// runtime error ("kv is not available").
type KVConfig struct {
	Store picloud.KVStore
	// The quota of a script that sets none: keys and bytes per namespace
	// (0: picloud.DefaultKVMaxKeys, picloud.DefaultKVMaxBytes).
	MaxKeys  int64
	MaxBytes int64
	// OnOp is called once per kv:: call with its name (get, set, delete,
	// incr, list, cas, ns), for metrics. Nil: not counted.
	OnOp func(op string)
}

// kvCallOps is what one kv:: call costs beyond its bytes: a store round trip
// is worth far more than one operation of the engine.
const kvCallOps = 100

// kvTypeName is type_of(kv::ns("name")).
const kvTypeName = "kv::Namespace"

// kvNamespace is one namespace a script reaches: its own or a shared one
// listed in its kv_namespaces setting. It is the value of kv::ns(name).
type kvNamespace struct {
	ns    string
	quota picloud.KVQuota
}

type kvModule struct{ cfg KVConfig }

// registerKV makes kv:: (the script's own namespace) and the methods of the
// handle kv::ns(name) returns (get, set, delete, incr, list, cas).
func registerKV(eng *rhai.Engine, cfg KVConfig) {
	k := &kvModule{cfg: cfg}
	m := rhai.NewModule()
	methods := rhai.NewModule()
	// op registers fn under name both as kv::name(args...) on the script's
	// own namespace and as the method handle.name(args...).
	op := func(name string, params []rhai.Type, fn func(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error)) {
		m.SetFn(name, params, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			n, err := k.own(c)
			if err != nil {
				return rhai.Unit, err
			}
			return k.call(c, name, n, args, fn)
		})
		methods.SetFn(name, append([]rhai.Type{rhai.TypeCustom}, params...), func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			n, ok := args[0].AsCustom().V.(*kvNamespace)
			if !ok {
				return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "%s is not a kv namespace", args[0].TypeName())
			}
			return k.call(c, name, n, args[1:], fn)
		})
	}
	str, anyT, mapT, intT := rhai.TypeString, rhai.TypeAny, rhai.TypeMap, rhai.TypeInt
	op("get", []rhai.Type{str}, k.get)
	op("set", []rhai.Type{str, anyT}, k.set)
	op("set", []rhai.Type{str, anyT, mapT}, k.set)
	op("delete", []rhai.Type{str}, k.delete)
	op("incr", []rhai.Type{str}, k.incr)
	op("incr", []rhai.Type{str, intT}, k.incr)
	op("list", []rhai.Type{str}, k.list)
	op("list", []rhai.Type{str, mapT}, k.list)
	op("cas", []rhai.Type{str, anyT, anyT}, k.cas)
	m.SetFn("ns", []rhai.Type{str}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
		k.count("ns")
		n, err := k.shared(c, args[0].AsString())
		if err != nil {
			return rhai.Unit, err
		}
		return rhai.NewCustom(kvTypeName, n), nil
	})
	eng.RegisterStaticModule("kv", m)
	eng.RegisterGlobalModule(methods)
}

func (k *kvModule) count(op string) {
	if k.cfg.OnOp != nil {
		k.cfg.OnOp(op)
	}
}

// script is the stored script being run, or an error outside the platform.
func (k *kvModule) script(c *rhai.Context) (*picloud.Script, error) {
	var sc *picloud.Script
	if st := state(c); st != nil {
		sc = st.script
	}
	switch {
	case k.store(c) == nil:
		return nil, rhai.NewError(rhai.ErrRuntime, "kv is not available on this server")
	case sc == nil:
		return nil, rhai.NewError(rhai.ErrRuntime, "kv is available only to stored scripts")
	}
	return sc, nil
}

// store is what kv:: reads and writes: a replay's overlay, else the
// server's store (nil: kv is not available).
func (k *kvModule) store(c *rhai.Context) picloud.KVStore {
	if st := state(c); st != nil && st.replay != nil && st.replay.KV != nil {
		return st.replay.KV
	}
	return k.cfg.Store
}

func (k *kvModule) quota(sc *picloud.Script) picloud.KVQuota { return kvQuota(k.cfg, sc) }

// kvQuota is sc's quota: its own settings, else the server's, else the
// defaults.
func kvQuota(cfg KVConfig, sc *picloud.Script) picloud.KVQuota {
	return picloud.KVQuota{
		MaxKeys:  cmp.Or(sc.KVMaxKeys, cfg.MaxKeys, picloud.DefaultKVMaxKeys),
		MaxBytes: cmp.Or(sc.KVMaxBytes, cfg.MaxBytes, picloud.DefaultKVMaxBytes),
	}
}

// KVQuota is the quota kv:: applies to sc's writes; the admin API's kv
// routes apply the same.
func (x *Executor) KVQuota(sc *picloud.Script) picloud.KVQuota { return kvQuota(x.cfg.KV, sc) }

func (k *kvModule) own(c *rhai.Context) (*kvNamespace, error) {
	sc, err := k.script(c)
	if err != nil {
		return nil, err
	}
	return &kvNamespace{ns: picloud.ScriptNamespace(sc.ID), quota: k.quota(sc)}, nil
}

func (k *kvModule) shared(c *rhai.Context, name string) (*kvNamespace, error) {
	sc, err := k.script(c)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(picloud.KVNamespaces(sc.KVNamespaces), name) {
		return nil, rhai.NewError(rhai.ErrRuntime, "kv::ns: namespace %q is not listed in the script's kv_namespaces setting", name)
	}
	return &kvNamespace{ns: picloud.SharedNamespace(name), quota: k.quota(sc)}, nil
}

// call charges the call's base cost, runs fn, and turns the store's errors
// into runtime errors (a failing store: a system error, reported as
// internal).
func (k *kvModule) call(c *rhai.Context, op string, n *kvNamespace, args []rhai.Value,
	fn func(*rhai.Context, *kvNamespace, []rhai.Value) (rhai.Value, error)) (rhai.Value, error) {
	k.count(op)
	if err := c.Tick(kvCallOps); err != nil {
		return rhai.Unit, err
	}
	v, err := fn(c, n, args)
	if err == nil {
		return v, nil
	}
	var re *rhai.Error
	var pe *picloud.Error
	switch {
	case errors.As(err, &re):
		return rhai.Unit, err
	case c.Context().Err() != nil:
		return rhai.Unit, rhai.NewError(rhai.ErrTerminated, "Script terminated")
	case errors.As(err, &pe):
		return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "kv::%s: %s", op, pe.Message)
	}
	return rhai.Unit, rhai.NewError(rhai.ErrSystem, "kv::%s: %v", op, err)
}

// key checks a key and charges its bytes.
func key(c *rhai.Context, v rhai.Value) (string, error) {
	s := v.AsString()
	if err := picloud.ValidKVKey(s); err != nil {
		return "", err
	}
	return s, c.Tick(len(s) / bytesPerOp)
}

// encode turns a value into the JSON text stored, charging its bytes; a value
// over the limit is refused before it is encoded whole.
func encode(c *rhai.Context, v rhai.Value) (json.RawMessage, error) {
	if v.Type() == rhai.TypeFnPtr || v.Type() == rhai.TypeCustom {
		return nil, rhai.NewError(rhai.ErrRuntime, "a %s cannot be stored in kv (not representable as JSON)", v.TypeName())
	}
	b, err := marshalJSON(v, picloud.MaxKVValueBytes)
	var le *limitError
	if errors.As(err, &le) {
		return nil, picloud.Errorf(picloud.EPayloadTooLarge, "value over the limit of %d bytes", picloud.MaxKVValueBytes)
	} else if err != nil {
		return nil, rhai.NewError(rhai.ErrRuntime, "a value kv cannot store: %v", err)
	}
	return b, c.Tick(len(b) / bytesPerOp)
}

// decode turns stored JSON text into a value, charging its bytes.
func decode(c *rhai.Context, b json.RawMessage) (rhai.Value, error) {
	if err := c.Tick(len(b) / bytesPerOp); err != nil {
		return rhai.Unit, err
	}
	v, err := parseJSON(b)
	if err != nil {
		return rhai.Unit, err
	}
	if v.Type() == rhai.TypeString {
		if err := c.CheckStringSize(len(v.AsString())); err != nil {
			return rhai.Unit, err
		}
	}
	// The engine accounts the top level; the rest is new too.
	if err := c.HoldNested(v); err != nil {
		return rhai.Unit, err
	}
	return v, nil
}

// ttl reads #{ttl: seconds} (a positive number) into an expiry.
func ttl(args []rhai.Value, i int) (time.Time, error) {
	if len(args) <= i {
		return time.Time{}, nil
	}
	m := args[i].AsMap().M
	for name := range m {
		if name != "ttl" {
			return time.Time{}, rhai.NewError(rhai.ErrRuntime, "kv::set: unknown option %q (options: ttl)", name)
		}
	}
	v, ok := m["ttl"]
	if !ok || v.IsUnit() {
		return time.Time{}, nil
	}
	var secs float64
	switch v.Type() {
	case rhai.TypeInt:
		secs = float64(v.AsInt())
	case rhai.TypeFloat:
		secs = v.AsFloat()
	default:
		return time.Time{}, rhai.NewError(rhai.ErrRuntime, "kv::set: ttl is a number of seconds, not %s", v.TypeName())
	}
	if !(secs > 0) || secs > 100*365*24*3600 || math.IsInf(secs, 0) {
		return time.Time{}, rhai.NewError(rhai.ErrRuntime, "kv::set: ttl must be a positive number of seconds (at most 100 years)")
	}
	return time.Now().Add(time.Duration(secs * float64(time.Second))), nil
}

func (k *kvModule) get(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error) {
	name, err := key(c, args[0])
	if err != nil {
		return rhai.Unit, err
	}
	e, err := k.store(c).KVGet(c.Context(), n.ns, name)
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return rhai.Unit, nil
	} else if err != nil {
		return rhai.Unit, err
	}
	return decode(c, e.Value)
}

func (k *kvModule) set(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error) {
	name, err := key(c, args[0])
	if err != nil {
		return rhai.Unit, err
	}
	v, err := encode(c, args[1])
	if err != nil {
		return rhai.Unit, err
	}
	exp, err := ttl(args, 2)
	if err != nil {
		return rhai.Unit, err
	}
	return rhai.Unit, k.store(c).KVSet(c.Context(), n.ns, name, picloud.KVWrite{Value: v, ExpiresAt: exp, Quota: n.quota})
}

func (k *kvModule) delete(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error) {
	name, err := key(c, args[0])
	if err != nil {
		return rhai.Unit, err
	}
	ok, err := k.store(c).KVDelete(c.Context(), n.ns, name)
	return rhai.Bool(ok), err
}

func (k *kvModule) incr(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error) {
	name, err := key(c, args[0])
	if err != nil {
		return rhai.Unit, err
	}
	by := int64(1)
	if len(args) > 1 {
		by = args[1].AsInt()
	}
	v, err := k.store(c).KVIncr(c.Context(), n.ns, name, by, picloud.KVWrite{Quota: n.quota})
	return rhai.Int(v), err
}

func (k *kvModule) list(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error) {
	prefix := args[0].AsString()
	limit, cursor := int64(picloud.DefaultKVListSize), ""
	if len(args) > 1 {
		for name, v := range args[1].AsMap().M {
			switch {
			case name == "limit" && v.Type() == rhai.TypeInt:
				limit = v.AsInt()
			case name == "cursor" && v.Type() == rhai.TypeString:
				cursor = v.AsString()
			case name == "cursor" && v.IsUnit():
			default:
				return rhai.Unit, rhai.NewError(rhai.ErrRuntime,
					"kv::list: bad option %q (options: limit, an integer; cursor, a string or ())", name)
			}
		}
	}
	if limit < 1 || limit > picloud.MaxKVListLimit {
		return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "kv::list: limit must be between 1 and %d", picloud.MaxKVListLimit)
	}
	p, err := k.store(c).KVList(c.Context(), n.ns, prefix, cursor, int(limit))
	if err != nil {
		return rhai.Unit, err
	}
	keys := make([]rhai.Value, len(p.Keys))
	size := 0
	for i, s := range p.Keys {
		keys[i] = rhai.String(s)
		size += len(s)
	}
	if err := c.Tick(size / bytesPerOp); err != nil {
		return rhai.Unit, err
	}
	next := rhai.Unit
	if p.Cursor != "" {
		next = rhai.String(p.Cursor)
	}
	out := rhai.NewMap(map[string]rhai.Value{"keys": rhai.NewArray(keys), "cursor": next})
	return out, c.HoldNested(out)
}

// cas: an expected () matches an absent key (or a stored null, which get
// reads as () too).
func (k *kvModule) cas(c *rhai.Context, n *kvNamespace, args []rhai.Value) (rhai.Value, error) {
	name, err := key(c, args[0])
	if err != nil {
		return rhai.Unit, err
	}
	expected, err := encode(c, args[1]) // () is null
	if err != nil {
		return rhai.Unit, err
	}
	v, err := encode(c, args[2])
	if err != nil {
		return rhai.Unit, err
	}
	ok, err := k.store(c).KVCompareAndSet(c.Context(), n.ns, name, expected, picloud.KVWrite{Value: v, Quota: n.quota})
	return rhai.Bool(ok), err
}

// KVOps are the names KVConfig.OnOp is called with.
var KVOps = []string{"get", "set", "delete", "incr", "list", "cas", "ns"}
