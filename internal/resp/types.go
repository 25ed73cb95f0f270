// Package resp reads and writes the Redis serialization protocol (RESP2 and
// RESP3) and inline commands. It is the attack surface of every instance, so
// every length read from the wire is checked against a named limit before
// anything is allocated from it. It imports nothing internal.
package resp

// RESP type bytes. Each constant is commented with its wire format.
const (
	TypeSimple    = '+' // +<string>\r\n
	TypeError     = '-' // -<string>\r\n
	TypeInteger   = ':' // :<int64>\r\n
	TypeBulk      = '$' // $<len>\r\n<bytes>\r\n, $-1\r\n is the RESP2 null
	TypeArray     = '*' // *<count>\r\n<elements>, *-1\r\n is the RESP2 null array
	TypeNull      = '_' // _\r\n (RESP3)
	TypeDouble    = ',' // ,<float>\r\n (RESP3)
	TypeBool      = '#' // #t\r\n or #f\r\n (RESP3)
	TypeBlobError = '!' // !<len>\r\n<bytes>\r\n (RESP3)
	TypeVerbatim  = '=' // =<len>\r\n<fmt>:<bytes>\r\n (RESP3)
	TypeBigNumber = '(' // (<digits>\r\n (RESP3)
	TypeMap       = '%' // %<pairs>\r\n<key><value>... (RESP3)
	TypeSet       = '~' // ~<count>\r\n<elements> (RESP3)
	TypeAttribute = '|' // |<pairs>\r\n<key><value>... then the real reply (RESP3)
	TypePush      = '>' // ><count>\r\n<elements> (RESP3)
)

// Value is one decoded RESP value. Str holds the payload of simple strings,
// errors, bulk strings, doubles, big numbers and verbatim strings (with its
// "fmt:" prefix); Int holds integers and booleans (1 or 0); Elems holds the
// elements of aggregates (a map or attribute holds keys and values
// alternately). Null is true for RESP3 nulls and the RESP2 null bulk and
// null array.
type Value struct {
	Type  byte
	Str   []byte
	Int   int64
	Null  bool
	Elems []Value
}
