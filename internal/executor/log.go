package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// collector keeps one execution's log lines within its caps. Beyond them it
// counts what it drops and finish adds one "truncated" line.
type collector struct {
	mu       sync.Mutex
	lines    []picloud.LogLine
	bytes    int
	dropped  int
	maxLines int
	maxBytes int
}

func (c *collector) add(level, msg string, data json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(msg) + len(data)
	if len(c.lines) >= c.maxLines || c.bytes+n > c.maxBytes {
		c.dropped++
		return
	}
	c.bytes += n
	c.lines = append(c.lines, picloud.LogLine{Level: level, Message: msg, Data: data, Time: picloud.Time{Time: time.Now().UTC()}})
}

// drop counts a line that was not kept.
func (c *collector) drop() {
	c.mu.Lock()
	c.dropped++
	c.mu.Unlock()
}

func (c *collector) finish() []picloud.LogLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines := c.lines
	if c.dropped > 0 {
		lines = append(lines, picloud.LogLine{Level: picloud.LevelWarn, Time: picloud.Time{Time: time.Now().UTC()},
			Message: fmt.Sprintf("truncated: %d more log lines dropped (limits: %d lines, %d bytes)", c.dropped, c.maxLines, c.maxBytes)})
	}
	if lines == nil {
		lines = []picloud.LogLine{}
	}
	return lines
}

// logModule is log::debug/info/warn/error(message[, data]).
func logModule() *rhai.Module {
	m := rhai.NewModule()
	for _, level := range []string{picloud.LevelDebug, picloud.LevelInfo, picloud.LevelWarn, picloud.LevelError} {
		m.SetFn(level, []rhai.Type{rhai.TypeAny}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			return rhai.Unit, logLine(c, level, args[0], nil)
		})
		m.SetFn(level, []rhai.Type{rhai.TypeAny, rhai.TypeAny}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			return rhai.Unit, logLine(c, level, args[0], &args[1])
		})
	}
	return m
}

func logLine(c *rhai.Context, level string, msg rhai.Value, data *rhai.Value) error {
	st := state(c)
	if st == nil {
		return nil
	}
	col := &st.logs
	text := msg.AsString()
	if msg.Type() != rhai.TypeString {
		text = msg.String()
	}
	var raw json.RawMessage
	if data != nil {
		// Data larger than the whole log allowance could never be kept:
		// stop encoding it there, and drop the line as the collector would.
		b, err := marshalJSON(*data, col.maxBytes)
		if err := c.Tick(len(b) / bytesPerOp); err != nil {
			return err
		}
		var le *limitError
		switch {
		case errors.As(err, &le):
			col.drop()
			return c.Tick(col.maxBytes / bytesPerOp)
		case err != nil:
			return rhai.NewError(rhai.ErrRuntime, "log::%s: %v", level, err)
		}
		raw = b
	}
	col.add(level, text, raw)
	return nil
}
