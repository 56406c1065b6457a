package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// byteSize is a flag holding a number of bytes, written as a plain number or
// with a unit (512MiB, 2GiB, 1.5G; KB/MB/GB are powers of 1000, KiB/MiB/GiB
// of 1024). "none" (or "off") is -1: no limit.
type byteSize int64

var byteUnits = []struct {
	suffix string
	n      float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

func (b *byteSize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "none" || t == "off" {
		*b = -1
		return nil
	}
	mult := 1.0
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*mult >= 1<<63 {
		return fmt.Errorf("%q is not a size (512MiB, 2GiB, a number of bytes, or none)", s)
	}
	*b = byteSize(f * mult)
	return nil
}

func (b byteSize) String() string {
	switch n := int64(b); {
	case n < 0:
		return "none"
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	return strconv.FormatInt(int64(b), 10)
}

// checkOrigin accepts "" or an http(s) URL with a host and nothing else (an
// origin).
func checkOrigin(origin string) error {
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return errors.New("--functions-origin: want an origin such as https://fn.example.com")
	}
	return nil
}
