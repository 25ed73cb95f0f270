package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
	"unicode/utf8"
)

// Entry is one line of the event file. Seq, Prev and Hash are set by the
// Log; whatever a caller puts there is replaced.
type Entry struct {
	Seq      uint64            `json:"seq"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Instance string            `json:"instance"`
	Addr     string            `json:"addr,omitempty"`
	Account  string            `json:"account,omitempty"`
	Detail   string            `json:"detail,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Prev     string            `json:"prev"` // Hash of the previous entry, ZeroHash for the first
	Hash     string            `json:"hash"` // hex SHA-256 of the line up to ,"hash": (see the package doc)
}

// hashed is Entry without Hash: its JSON encoding is exactly the bytes
// the hash covers, once the closing brace is dropped.
type hashed struct {
	Seq      uint64            `json:"seq"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Instance string            `json:"instance"`
	Addr     string            `json:"addr,omitempty"`
	Account  string            `json:"account,omitempty"`
	Detail   string            `json:"detail,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Prev     string            `json:"prev"`
}

// ZeroHash is the Prev of the first entry of a log.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// The types of the entries the Log writes about itself. EventsDropped has
// the same name as monitor.EventsDropped.
const (
	TypeDropped   = "events_dropped"   // Fields: count, the entries lost since the last such entry
	TypePruned    = "events_pruned"    // Fields: file, last_seq, last_hash of the file retention removed; damage, damage_detail: see writer.prune
	TypeRecovered = "events_recovered" // Fields: file, offset, reason: a damaged or torn file was left behind
)

// TypeUnknown is the type Append gives an entry without one: a line
// needs a type, and the event is kept rather than dropped.
const TypeUnknown = "unknown"

// Limits. A line longer than MaxLine is not an entry; Append cuts the
// strings of an entry so that its line always fits (each byte may take
// six in JSON: \u00XX).
const (
	MaxLine       = 64 << 10
	maxType       = 64
	maxInstance   = 128
	maxAddr       = 256
	maxAccount    = 256
	maxDetail     = 1024
	maxFields     = 16
	maxFieldKey   = 64
	maxFieldValue = 256
)

// hashSuffix is what follows the hashed bytes: ,"hash":"<64 hex>"}
const (
	hashKey     = `,"hash":"`
	hashHexLen  = 2 * sha256.Size
	suffixLen   = len(hashKey) + hashHexLen + len(`"}`)
	minLineSize = len(`{}`) + suffixLen
)

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sanitize applies the limits to e, and gives an entry without a type
// TypeUnknown. It copies Fields, so the caller may change its map after
// Append.
func sanitize(e *Entry) {
	e.Type = clip(e.Type, maxType)
	if e.Type == "" {
		e.Type = TypeUnknown
	}
	e.Instance = clip(e.Instance, maxInstance)
	e.Addr = clip(e.Addr, maxAddr)
	e.Account = clip(e.Account, maxAccount)
	e.Detail = clip(e.Detail, maxDetail)
	if len(e.Fields) == 0 {
		e.Fields = nil
		return
	}
	keys := slices.Sorted(maps.Keys(e.Fields))
	if len(keys) > maxFields {
		keys = keys[:maxFields]
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[clip(k, maxFieldKey)] = clip(e.Fields[k], maxFieldValue)
	}
	e.Fields = m
}

// encode appends the line of e (with its newline) to dst, taking Seq and
// Prev from e, and returns it with the entry's hash. e.Time must be UTC
// with a year in 0–9999 (the Log sees to it).
func encode(dst []byte, e *Entry) ([]byte, string, error) {
	b, err := json.Marshal(hashed{
		Seq: e.Seq, Time: e.Time, Type: e.Type, Instance: e.Instance, Addr: e.Addr,
		Account: e.Account, Detail: e.Detail, Fields: e.Fields, Prev: e.Prev,
	})
	if err != nil {
		return dst, "", err
	}
	b = b[:len(b)-1] // the closing brace
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	dst = append(dst, b...)
	dst = append(dst, hashKey...)
	dst = append(dst, h...)
	dst = append(dst, "\"}\n"...)
	if len(b)+suffixLen > MaxLine {
		return dst, "", errors.New("eventlog: entry too large")
	}
	return dst, h, nil
}

// lineError says why a line is not a sound entry.
type lineError struct {
	kind Kind
	msg  string
}

func (e *lineError) Error() string { return string(e.kind) + ": " + e.msg }

// maxErrText bounds the text of a lineError: a JSON error may quote a
// value from the line.
const maxErrText = 200

func badLine(format string, a ...any) *lineError {
	return &lineError{kind: BadLine, msg: clip(fmt.Sprintf(format, a...), maxErrText)}
}

// isHex reports whether s is lowercase hexadecimal.
func isHex(s []byte) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseLine reads one line (without its newline). It never trusts the
// line: a line that does not end in a well-formed hash is a BadLine; one
// whose hash does not match its bytes is Edited, and then decoded is true
// if the JSON still reads as an entry (its Seq and Hash let a verifier
// follow the chain past it); a line with a matching hash must also decode
// strictly as an Entry, with no unknown field and nothing after it.
func parseLine(line []byte) (e Entry, decoded bool, lerr *lineError) {
	if len(line) > MaxLine {
		return Entry{}, false, badLine("longer than %d bytes", MaxLine)
	}
	if len(line) < minLineSize || line[0] != '{' || !bytes.HasSuffix(line, []byte(`"}`)) {
		return Entry{}, false, badLine("not an event line")
	}
	body := line[:len(line)-suffixLen]
	suffix := line[len(body):]
	hexHash := suffix[len(hashKey) : len(hashKey)+hashHexLen]
	if !bytes.HasPrefix(suffix, []byte(hashKey)) || !isHex(hexHash) {
		return Entry{}, false, badLine("no hash at the end of the line")
	}
	sum := sha256.Sum256(body)
	var want [sha256.Size]byte
	hex.Decode(want[:], hexHash) // checked by isHex
	if sum != want {
		lerr = &lineError{kind: Edited, msg: "the line does not match its hash"}
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		if lerr != nil {
			return Entry{}, false, lerr
		}
		return Entry{}, false, badLine("not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if lerr != nil {
			return Entry{}, false, lerr
		}
		return Entry{}, false, badLine("data after the entry")
	}
	if lerr != nil {
		return e, e.Hash == string(hexHash), lerr
	}
	switch {
	case e.Hash != string(hexHash):
		return Entry{}, false, badLine("two hash fields")
	case e.Seq == 0:
		return Entry{}, false, badLine("no seq")
	case len(e.Prev) != hashHexLen || !isHex([]byte(e.Prev)):
		return Entry{}, false, badLine("prev is not a hash")
	case e.Type == "":
		return Entry{}, false, badLine("no type")
	case e.Time.IsZero():
		return Entry{}, false, badLine("no time")
	}
	return e, true, nil
}
