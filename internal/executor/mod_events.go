package executor

import (
	"encoding/json"
	"errors"
	"sync"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// MaxEventPayloadBytes bounds one event's payload, as JSON.
const MaxEventPayloadBytes = 64 << 10

// emitted is one execution's events::emit buffer. The events are delivered
// only after the execution succeeded (Result.Events), so emitting is
// transactional with the outcome.
type emitted struct {
	mu     sync.Mutex
	events []picloud.Event
	// depth is the depth of the event that triggered the execution (0:
	// none); the events it emits are one deeper.
	depth int
}

func (e *emitted) finish() []picloud.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.events
}

// eventsModule is events::emit(topic, payload). Each execution may emit at
// most maxEmits events, and a run of an event of depth maxDepth may emit
// none: a chain of scripts triggering each other ends there.
func eventsModule(maxEmits, maxDepth int, count func()) *rhai.Module {
	m := newHostModule(count)
	// The topic is any value, so that a wrong type is the clear error below
	// rather than "function not found".
	m.SetFn("emit", []rhai.Type{rhai.TypeAny, rhai.TypeAny}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
		st := state(c)
		if st == nil {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "events::emit is not available here")
		}
		if args[0].Type() != rhai.TypeString {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "events::emit: the topic must be a string, not %s", args[0].TypeName())
		}
		topic := args[0].AsString()
		if !picloud.ValidTopic(topic) {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime,
				"events::emit: %q is not a topic (lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 bytes)", clip(topic))
		}
		payload, err := eventPayload(c, args[1])
		if err != nil {
			return rhai.Unit, err
		}
		ev := &st.events
		ev.mu.Lock()
		defer ev.mu.Unlock()
		switch {
		case ev.depth >= maxDepth:
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "events::emit: event chain depth limit (%d) reached", maxDepth)
		case len(ev.events) >= maxEmits:
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "events::emit: emit budget (%d) exceeded", maxEmits)
		}
		emittedBy := ""
		if st.script != nil {
			emittedBy = st.script.Name
		}
		ev.events = append(ev.events, picloud.Event{
			ID: uuid.NewString(), Topic: topic, Payload: payload, EmittedBy: emittedBy, Depth: ev.depth + 1,
		})
		return rhai.Unit, nil
	})
	return m.Module
}

// eventPayload copies a payload into JSON at emit time (later changes to the
// value do not reach the event), charging its bytes.
func eventPayload(c *rhai.Context, v rhai.Value) (json.RawMessage, error) {
	if v.Type() == rhai.TypeFnPtr || v.Type() == rhai.TypeCustom {
		return nil, rhai.NewError(rhai.ErrRuntime, "events::emit: a %s cannot be a payload (not representable as JSON)", v.TypeName())
	}
	b, err := marshalJSON(v, MaxEventPayloadBytes)
	var le *limitError
	if errors.As(err, &le) {
		return nil, rhai.NewError(rhai.ErrRuntime, "events::emit: payload over the limit of %d bytes of JSON", MaxEventPayloadBytes)
	} else if err != nil {
		return nil, rhai.NewError(rhai.ErrRuntime, "events::emit: a payload that is not JSON: %v", err)
	}
	return b, c.Tick(len(b) / bytesPerOp)
}
