package sops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The reference implementation converts a YAML document into a tree of
// branches (mappings) and lists in which comments are items of their own,
// then walks that tree in order. Comments take part in encryption (their
// additional data is the path of the collection holding them) and in the
// encrypted_comment_regex selectors, but not in the MAC. This file builds
// the same item order over the yaml.Node tree, keeping pointers to the
// nodes so values can be replaced in place and line numbers survive.

// commentField is one comment string of a node (head, line or foot),
// split into lines so each line can be transformed on its own.
type commentField struct {
	target *string
	lines  []string
}

type commentRef struct {
	field *commentField
	idx   int
}

func (c commentRef) text() string { return strings.TrimPrefix(c.field.lines[c.idx], "#") }

func (c commentRef) set(s string) { c.field.lines[c.idx] = "#" + s }

// entry is one item of a collection: a comment, or a value under a key
// (mappings) or at a position (sequences).
type entry struct {
	comment *commentRef
	key     string
	keyNode *yaml.Node
	node    *yaml.Node  // the value node
	child   *collection // set when node is a mapping or a sequence
}

type collection struct {
	node    *yaml.Node
	list    bool
	entries []entry
}

type builder struct {
	fields []*commentField
}

func (b *builder) addComments(c *collection, target *string) {
	if *target == "" {
		return
	}
	f := &commentField{target: target, lines: strings.Split(*target, "\n")}
	b.fields = append(b.fields, f)
	for i, line := range f.lines {
		if line == "" || !strings.HasPrefix(line, "#") {
			continue
		}
		c.entries = append(c.entries, entry{comment: &commentRef{field: f, idx: i}})
	}
}

// flush writes the transformed comment lines back into their nodes.
func (b *builder) flush() {
	for _, f := range b.fields {
		*f.target = strings.Join(f.lines, "\n")
	}
}

// buildDocument mirrors the reference loader for a document node.
func (b *builder) buildDocument(doc *yaml.Node) (*collection, error) {
	root := &collection{node: doc}
	if err := b.branch(doc, root, false); err != nil {
		return nil, err
	}
	return root, nil
}

func (b *builder) branch(node *yaml.Node, c *collection, handled bool) error {
	if !handled {
		b.addComments(c, &node.HeadComment)
		b.addComments(c, &node.LineComment)
	}
	switch node.Kind {
	case yaml.DocumentNode:
		for _, child := range node.Content {
			if err := b.branch(child, c, false); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		c.node = node
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			b.addComments(c, &key.HeadComment)
			b.addComments(c, &key.LineComment)
			scalar := value.Kind == yaml.ScalarNode
			if scalar {
				b.addComments(c, &value.HeadComment)
				b.addComments(c, &value.LineComment)
			}
			if key.Kind != yaml.ScalarNode || key.ShortTag() != "!!str" {
				return fmt.Errorf("line %d: only string keys are supported", key.Line)
			}
			if key.Value == "<<" && key.Style == 0 {
				return fmt.Errorf("line %d: YAML merge keys are not supported", key.Line)
			}
			e := entry{key: key.Value, keyNode: key, node: value}
			child, err := b.value(value, scalar)
			if err != nil {
				return err
			}
			e.child = child
			c.entries = append(c.entries, e)
			if scalar {
				b.addComments(c, &value.FootComment)
			}
			b.addComments(c, &key.FootComment)
		}
	case yaml.SequenceNode:
		return fmt.Errorf("line %d: a document that is a sequence is not supported", node.Line)
	case yaml.ScalarNode:
		if node.ShortTag() != "!!null" {
			return fmt.Errorf("line %d: a document that is a single value is not supported", node.Line)
		}
	case yaml.AliasNode:
		return fmt.Errorf("line %d: YAML aliases are not supported", node.Line)
	}
	if !handled {
		b.addComments(c, &node.FootComment)
	}
	return nil
}

// value returns the collection for a mapping or sequence node, nil for a scalar.
func (b *builder) value(node *yaml.Node, handled bool) (*collection, error) {
	if node.Anchor != "" {
		return nil, fmt.Errorf("line %d: YAML anchors are not supported", node.Line)
	}
	switch node.Kind {
	case yaml.SequenceNode:
		c := &collection{node: node, list: true}
		if !handled {
			b.addComments(c, &node.HeadComment)
			b.addComments(c, &node.LineComment)
		}
		for _, item := range node.Content {
			b.addComments(c, &item.HeadComment)
			b.addComments(c, &item.LineComment)
			child, err := b.value(item, true)
			if err != nil {
				return nil, err
			}
			c.entries = append(c.entries, entry{node: item, child: child})
			b.addComments(c, &item.FootComment)
		}
		if !handled {
			b.addComments(c, &node.FootComment)
		}
		return c, nil
	case yaml.MappingNode:
		c := &collection{node: node}
		if err := b.branch(node, c, handled); err != nil {
			return nil, err
		}
		return c, nil
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not supported", node.Line)
	default:
		return nil, nil
	}
}

// leaf is what the walk hands to its visitor.
type leaf struct {
	comment *commentRef // for comments
	node    *yaml.Node  // for values
	parent  *collection
}

type visitor func(l leaf, path []string, stack [][]string) error

// walk visits comments and scalar values in the reference's order, with
// the key path and the stack of comments that precede each item.
func (c *collection) walk(path []string, stack [][]string, visit visitor) error {
	stack = append(stack, nil)
	top := len(stack) - 1
	for i := range c.entries {
		e := &c.entries[i]
		if e.comment != nil {
			stack[top] = append(stack[top], e.comment.text())
			if err := visit(leaf{comment: e.comment, parent: c}, path, stack); err != nil {
				return err
			}
			continue
		}
		p := path
		if !c.list {
			p = append(append(make([]string, 0, len(path)+1), path...), e.key)
		}
		switch {
		case e.child != nil:
			if err := e.child.walk(p, stack, visit); err != nil {
				return err
			}
		case e.node.ShortTag() == "!!null":
			// Null values are neither encrypted nor part of the MAC.
		default:
			if err := visit(leaf{node: e.node, parent: c}, p, stack); err != nil {
				return err
			}
		}
		stack[top] = nil
	}
	return nil
}

// selector decides which values are encrypted.
type selector struct {
	unencryptedSuffix string
	encryptedSuffix   string
	unencryptedRegex  *regexp.Regexp
	encryptedRegex    *regexp.Regexp
	unencComment      *regexp.Regexp
	encComment        *regexp.Regexp
}

func newSelector(m Metadata) (selector, error) {
	s := selector{unencryptedSuffix: m.UnencryptedSuffix, encryptedSuffix: m.EncryptedSuffix}
	var err error
	compile := func(expr, name string) *regexp.Regexp {
		if expr == "" || err != nil {
			return nil
		}
		re, e := regexp.Compile(expr)
		if e != nil {
			err = fmt.Errorf("sops.%s %q: %w", name, expr, e)
		}
		return re
	}
	s.unencryptedRegex = compile(m.UnencryptedRegex, "unencrypted_regex")
	s.encryptedRegex = compile(m.EncryptedRegex, "encrypted_regex")
	s.unencComment = compile(m.UnencryptedCommentRegex, "unencrypted_comment_regex")
	s.encComment = compile(m.EncryptedCommentRegex, "encrypted_comment_regex")
	return s, err
}

// encrypted mirrors the reference's rules, including their order.
func (s selector) encrypted(path []string, stack [][]string, isComment bool) bool {
	enc := true
	if s.unencryptedSuffix != "" {
		for _, k := range path {
			if strings.HasSuffix(k, s.unencryptedSuffix) {
				enc = false
				break
			}
		}
	}
	if s.encryptedSuffix != "" {
		enc = false
		for _, k := range path {
			if strings.HasSuffix(k, s.encryptedSuffix) {
				enc = true
				break
			}
		}
	}
	if s.unencryptedRegex != nil {
		for _, k := range path {
			if s.unencryptedRegex.MatchString(k) {
				enc = false
				break
			}
		}
	}
	if s.encryptedRegex != nil {
		enc = false
		for _, k := range path {
			if s.encryptedRegex.MatchString(k) {
				enc = true
				break
			}
		}
	}
	if s.unencComment != nil {
	unenc:
		for _, level := range stack {
			for _, c := range level {
				if s.unencComment.MatchString(c) {
					enc = false
					break unenc
				}
			}
		}
	}
	if s.encComment != nil {
		enc = false
		last := len(stack) - 1
	encc:
		for i, level := range stack {
			for j, c := range level {
				// The comment that carries the marker is itself left alone.
				if isComment && i == last && j == len(stack[last])-1 {
					continue
				}
				if s.encComment.MatchString(c) {
					enc = true
					break encc
				}
			}
		}
	}
	return enc
}

// scalarBytes returns a scalar's type and its canonical bytes, as the
// reference feeds them to the cipher and the MAC.
func scalarBytes(n *yaml.Node) (string, []byte, error) {
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return typeStr, []byte(n.Value), nil
	case "!!int":
		var i int
		if err := n.Decode(&i); err != nil {
			return "", nil, fmt.Errorf("line %d: integer %s: %w", n.Line, n.Value, err)
		}
		return typeInt, []byte(strconv.Itoa(i)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return "", nil, fmt.Errorf("line %d: number %s: %w", n.Line, n.Value, err)
		}
		return typeFloat, []byte(strconv.FormatFloat(f, 'f', -1, 64)), nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return "", nil, fmt.Errorf("line %d: boolean %s: %w", n.Line, n.Value, err)
		}
		if v {
			return typeBool, []byte("True"), nil
		}
		return typeBool, []byte("False"), nil
	case "!!timestamp":
		var t time.Time
		if err := n.Decode(&t); err != nil {
			return "", nil, fmt.Errorf("line %d: timestamp %s: %w", n.Line, n.Value, err)
		}
		b, err := t.MarshalText()
		if err != nil {
			return "", nil, fmt.Errorf("line %d: timestamp %s: %w", n.Line, n.Value, err)
		}
		return typeTime, b, nil
	default:
		return "", nil, fmt.Errorf("line %d: values tagged %s are not supported", n.Line, tag)
	}
}

// setPlain stores a decrypted value of the given type in n and returns the
// bytes the MAC covers.
func setPlain(n *yaml.Node, typ string, plain []byte) ([]byte, error) {
	s := string(plain)
	n.Style = 0
	switch typ {
	case typeStr, typeBytes:
		n.Tag, n.Value = "!!str", s
		if strings.Contains(s, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return plain, nil
	case typeInt:
		i, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("decrypted integer %q: %w", s, err)
		}
		n.Tag, n.Value = "!!int", strconv.Itoa(i)
		return []byte(n.Value), nil
	case typeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("decrypted number %q: %w", s, err)
		}
		canon := strconv.FormatFloat(f, 'f', -1, 64)
		n.Tag, n.Value = "!!float", canon
		if !strings.ContainsAny(canon, ".eEIN") {
			n.Value = canon + ".0"
		}
		return []byte(canon), nil
	case typeBool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("decrypted boolean %q: %w", s, err)
		}
		n.Tag, n.Value = "!!bool", strconv.FormatBool(v)
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case typeTime:
		var t time.Time
		if err := t.UnmarshalText(plain); err != nil {
			return nil, fmt.Errorf("decrypted timestamp %q: %w", s, err)
		}
		b, _ := t.MarshalText()
		n.Tag, n.Value = "!!timestamp", string(b)
		return b, nil
	}
	return nil, fmt.Errorf("value type %q cannot hold a value", typ)
}

// cloneNode deep-copies a node tree.
func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = cloneNode(ch)
	}
	return &c
}
