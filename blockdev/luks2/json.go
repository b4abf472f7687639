package luks2

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// parseJSON checks the copy's JSON area and returns what Check needs from
// it, and whether the area is well formed.
func (c *headerCopy) parseJSON(area []byte) (metadata, bool) {
	text, ok := c.jsonText(area)
	if !ok {
		return metadata{}, false
	}

	doc, ok := c.decodeJSON(text)
	if !ok {
		return metadata{}, false
	}

	return c.metadataOf(doc)
}

// jsonText returns the JSON text of a JSON area: one object, followed by
// nothing but NUL padding.
func (c *headerCopy) jsonText(area []byte) ([]byte, bool) {
	end := bytes.IndexByte(area, 0)
	if end < 0 {
		c.add(CodeJSONInvalid, "the JSON area has no NUL after the JSON text")

		return nil, false
	}

	text := area[:end]
	if slices.ContainsFunc(area[end:], func(b byte) bool { return b != 0 }) {
		c.add(CodeJSONInvalid, "the JSON area has non-NUL bytes after the JSON text ends at byte %d", end)

		return nil, false
	}

	if len(text) == 0 || text[0] != '{' || text[len(text)-1] != '}' {
		c.add(CodeJSONInvalid, "the JSON area does not hold exactly one JSON object")

		return nil, false
	}

	return text, true
}

// decodeJSON parses text, checks that it holds every section as an object,
// and decodes the fields Check reads.
func (c *headerCopy) decodeJSON(text []byte) (*jsonHeader, bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(text, &top); err != nil {
		c.add(CodeJSONInvalid, "the JSON area does not parse: %v", err)

		return nil, false
	}

	var missing []string

	for _, section := range jsonSections {
		raw := bytes.TrimLeft(top[section], " \t\r\n")
		if len(raw) == 0 || raw[0] != '{' {
			missing = append(missing, section)
		}
	}

	if len(missing) > 0 {
		c.add(CodeJSONInvalid, "the JSON object lacks the section(s) %v, or they are not objects", missing)

		return nil, false
	}

	var doc jsonHeader
	if err := json.Unmarshal(text, &doc); err != nil {
		c.add(CodeJSONInvalid, "a JSON field has the wrong type: %v", err)

		return nil, false
	}

	return &doc, true
}

// metadataOf checks the sizes doc's config states and finds its data
// segment. It reports false when a value is malformed or json_size
// disagrees with the copy's hdr_size.
func (c *headerCopy) metadataOf(doc *jsonHeader) (metadata, bool) {
	var meta metadata

	hdrSize := c.hdr.HdrSize

	jsonSize, err := strconv.ParseUint(doc.Config.JSONSize, 10, 64)
	if err != nil {
		c.add(CodeJSONInvalid, "config.json_size %q is not a decimal string", doc.Config.JSONSize)

		return meta, false
	}

	ok := true

	if jsonSize != hdrSize-BinHeaderSize {
		c.add(CodeJSONSizeMismatch, "config.json_size is %d, but hdr_size %d leaves a %d-byte JSON area", jsonSize, hdrSize, hdrSize-BinHeaderSize)

		ok = false
	}

	if doc.Config.KeyslotsSize != "" {
		if meta.keyslotsSize, err = strconv.ParseUint(doc.Config.KeyslotsSize, 10, 64); err != nil {
			c.add(CodeJSONInvalid, "config.keyslots_size %q is not a decimal string", doc.Config.KeyslotsSize)

			ok = false
		}
	}

	meta.keyslots = len(doc.Keyslots)
	meta.segments = len(doc.Segments)

	if !c.dataSegment(doc, &meta) {
		ok = false
	}

	return meta, ok
}

// dataSegment fills meta's cipher and data offset from segment 0, or the
// lowest-numbered segment, and reports whether the segment ids and its
// offset are numbers.
func (c *headerCopy) dataSegment(doc *jsonHeader, meta *metadata) bool {
	ok := true
	first := ""
	firstN := uint64(0)

	for id := range doc.Segments {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			c.add(CodeJSONInvalid, "segment id %q is not a number", id)

			ok = false

			continue
		}

		if first == "" || n < firstN {
			first, firstN = id, n
		}
	}

	if first == "" {
		return ok
	}

	seg := doc.Segments[first]
	meta.cipher = seg.Encryption

	var err error
	if meta.dataOffset, err = strconv.ParseUint(seg.Offset, 10, 64); err != nil {
		c.add(CodeJSONInvalid, "segment %s offset %q is not a decimal string", first, seg.Offset)

		ok = false
	}

	return ok
}
