package signedpdf

import (
	"bytes"
	"errors"
	"fmt"
)

// changeErr is a difference between the issued and the final state that a signer may
// not make. Its text names what changed ("page 1: /Contents changed").
type changeErr struct{ what string }

func (e *changeErr) Error() string { return e.what }

func changed(format string, a ...any) error { return &changeErr{fmt.Sprintf(format, a...)} }

// comparer compares the issued state a with the final state b.
type comparer struct {
	a, b *doc
	memo map[[2]Ref]bool
	// nodes names the page tree's nodes and pages in each state ("page 1", "pages 0"):
	// two references to page-tree nodes are equal when they name the same node, since the
	// nodes themselves are compared apart (a page's /Annots may grow, and an annotation's
	// /P or a page's /Parent must not drag that difference in).
	nodesA, nodesB map[Ref]string
	depth          int
	area           [4]float64 // Options.SignatureArea
}

// eq compares x from the issued state with y from the final state, following references
// in each.
func (c *comparer) eq(x, y any) (bool, error) {
	c.a.bud.compare++
	if c.a.bud.compare > maxCompare {
		return false, limitErr("comparison longer than %d steps", maxCompare)
	}
	rx, xIsRef := x.(Ref)
	ry, yIsRef := y.(Ref)
	if xIsRef || yIsRef {
		if xIsRef && yIsRef {
			nx, okx := c.nodesA[rx]
			ny, oky := c.nodesB[ry]
			if okx || oky {
				return okx && oky && nx == ny, nil
			}
			k := [2]Ref{rx, ry}
			if v, ok := c.memo[k]; ok {
				return v, nil
			}
			// Assume equal while comparing, so that cycles (/Parent, /P) end.
			c.memo[k] = true
			r, err := c.eqResolved(x, y)
			if err != nil {
				return false, err
			}
			c.memo[k] = r
			return r, nil
		}
		return c.eqResolved(x, y)
	}
	switch xv := x.(type) {
	case nil:
		return y == nil, nil
	case bool, Name, String:
		return x == y, nil
	case int64:
		switch yv := y.(type) {
		case int64:
			return xv == yv, nil
		case float64:
			return float64(xv) == yv, nil
		}
		return false, nil
	case float64:
		switch yv := y.(type) {
		case int64:
			return xv == float64(yv), nil
		case float64:
			return xv == yv, nil
		}
		return false, nil
	case Array:
		yv, ok := y.(Array)
		if !ok || len(xv) != len(yv) {
			return false, nil
		}
		for i := range xv {
			if ok, err := c.eq(xv[i], yv[i]); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	case Dict:
		yv, ok := y.(Dict)
		if !ok {
			return false, nil
		}
		return c.eqDict(xv, yv, nil)
	case Stream:
		yv, ok := y.(Stream)
		if !ok || !bytes.Equal(xv.Raw, yv.Raw) {
			return false, nil
		}
		return c.eqDict(xv.Dict, yv.Dict, nil)
	}
	return false, fmt.Errorf("unknown object type %T", x)
}

func (c *comparer) eqResolved(x, y any) (bool, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxWalkDepth {
		return false, limitErr("references nested deeper than %d", maxWalkDepth)
	}
	x, err := c.a.resolve(x)
	if err != nil {
		return false, err
	}
	y, err = c.b.resolve(y)
	if err != nil {
		return false, err
	}
	return c.eq(x, y)
}

// eqDict compares two dictionaries, ignoring the keys in skip.
func (c *comparer) eqDict(x, y Dict, skip map[Name]bool) (bool, error) {
	for k := range x {
		if _, ok := y[k]; !ok && !skip[k] {
			return false, nil
		}
	}
	for k, yv := range y {
		if skip[k] {
			continue
		}
		xv, ok := x[k]
		if !ok {
			return false, nil
		}
		if ok, err := c.eq(xv, yv); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// diffDict names the first key (in sorted order) whose value differs, as "/Key added",
// "/Key removed" or "/Key changed"; "" when none does.
func (c *comparer) diffDict(x, y Dict, skip map[Name]bool) (string, error) {
	for _, k := range sortedKeys(x, y) {
		if skip[k] {
			continue
		}
		xv, inX := x[k]
		yv, inY := y[k]
		switch {
		case !inX:
			return fmt.Sprintf("/%s added", k), nil
		case !inY:
			return fmt.Sprintf("/%s removed", k), nil
		}
		ok, err := c.eq(xv, yv)
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("/%s changed", k), nil
		}
	}
	return "", nil
}

// pageTree is a page tree in document order.
type pageTree struct {
	nodes []Ref // /Pages nodes, in the order the walk meets them
	pages []Ref
}

func walkPages(d *doc, root any) (*pageTree, error) {
	t := &pageTree{}
	seen := map[Ref]bool{}
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		r, ok := v.(Ref)
		if !ok {
			return errors.New("a page tree node is not an indirect object")
		}
		if seen[r] {
			return errors.New("the page tree loops")
		}
		seen[r] = true
		if depth > maxWalkDepth {
			return limitErr("page tree deeper than %d", maxWalkDepth)
		}
		o, err := d.resolve(r)
		if err != nil {
			return err
		}
		n, ok := o.(Dict)
		if !ok {
			return errors.New("a page tree node is not a dictionary")
		}
		switch n["Type"] {
		case Name("Page"):
			if len(t.pages) >= maxPages {
				return limitErr("more than %d pages", maxPages)
			}
			t.pages = append(t.pages, r)
			return nil
		case Name("Pages"):
		default:
			return errors.New("a page tree node is neither /Page nor /Pages")
		}
		t.nodes = append(t.nodes, r)
		kv, err := d.resolve(n["Kids"])
		if err != nil {
			return err
		}
		kids, ok := kv.(Array)
		if !ok {
			return errors.New("a /Pages node has no /Kids array")
		}
		for _, k := range kids {
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return t, walk(root, 0)
}

func (t *pageTree) names() map[Ref]string {
	m := map[Ref]string{}
	for i, r := range t.nodes {
		m[r] = fmt.Sprintf("pages node %d", i)
	}
	for i, r := range t.pages {
		m[r] = fmt.Sprintf("page %d", i+1)
	}
	return m
}

// Catalog keys an incremental signature may add or change: the form that holds the
// signature field, the document security store (certificates, OCSP, CRLs for long-term
// validation), the XMP metadata, the version (pdfsign raises a 1.3 file to 1.5, which
// changes no content) and /Perms (a certification's DocMDP, which only restricts later
// changes). /Pages is compared node by node below.
var catalogAllowed = map[Name]bool{"AcroForm": true, "DSS": true, "Metadata": true, "Version": true, "Perms": true, "Pages": true}

var (
	skipPage = map[Name]bool{"Annots": true, "Parent": true}
	skipNode = map[Name]bool{"Kids": true, "Parent": true}
)

// compareStates returns a *changeErr naming the first change the final state b makes to
// the issued state a that a signer may not make, or another error when either state
// cannot be read.
func compareStates(a, b *doc, area [4]float64) error {
	c := &comparer{a: a, b: b, memo: map[[2]Ref]bool{}, area: area}

	if _, in := a.trailer["Encrypt"]; !in {
		if _, in := b.trailer["Encrypt"]; in {
			return changed("trailer: /Encrypt added")
		}
	}
	ca, err := a.resolve(a.trailer["Root"])
	if err != nil {
		return fmt.Errorf("issued catalog: %w", err)
	}
	cb, err := b.resolve(b.trailer["Root"])
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	catA, okA := ca.(Dict)
	catB, okB := cb.(Dict)
	if !okA {
		return errors.New("the issued document has no catalog")
	}
	if !okB {
		return errors.New("no catalog")
	}
	ta, err := walkPages(a, catA["Pages"])
	if err != nil {
		return fmt.Errorf("issued page tree: %w", err)
	}
	tb, err := walkPages(b, catB["Pages"])
	if err != nil {
		return fmt.Errorf("page tree: %w", err)
	}
	c.nodesA, c.nodesB = ta.names(), tb.names()

	if d, err := c.diffDict(catA, catB, catalogAllowed); err != nil || d != "" {
		if err != nil {
			return err
		}
		return changed("catalog: %s", d)
	}
	if len(tb.pages) != len(ta.pages) {
		if len(tb.pages) > len(ta.pages) {
			return changed("page %d added", len(ta.pages)+1)
		}
		return changed("page %d removed", len(tb.pages)+1)
	}
	if len(tb.nodes) != len(ta.nodes) {
		return changed("catalog: /Pages tree changed")
	}
	for i := range ta.nodes {
		if err := c.compareNode(ta.nodes[i], tb.nodes[i], skipNode, fmt.Sprintf("pages node %d", i)); err != nil {
			return err
		}
	}
	for i := range ta.pages {
		where := fmt.Sprintf("page %d", i+1)
		if err := c.compareNode(ta.pages[i], tb.pages[i], skipPage, where); err != nil {
			return err
		}
		if err := c.compareAnnots(ta.pages[i], tb.pages[i], where); err != nil {
			return err
		}
	}
	return c.compareForm(catA["AcroForm"], catB["AcroForm"])
}

func (c *comparer) compareNode(ra, rb Ref, skip map[Name]bool, where string) error {
	va, err := c.a.resolve(ra)
	if err != nil {
		return err
	}
	vb, err := c.b.resolve(rb)
	if err != nil {
		return err
	}
	// walkPages checked both are dictionaries.
	d, err := c.diffDict(va.(Dict), vb.(Dict), skip)
	if err != nil {
		return err
	}
	if d != "" {
		return changed("%s: %s", where, d)
	}
	return nil
}

func (c *comparer) array(d *doc, v any) (Array, error) {
	v, err := d.resolve(v)
	if err != nil || v == nil {
		return nil, err
	}
	a, ok := v.(Array)
	if !ok {
		return nil, errors.New("not an array")
	}
	return a, nil
}

// compareAnnots checks that the page's issued annotations remain, in order, and that
// every other one is a signature widget.
func (c *comparer) compareAnnots(ra, rb Ref, where string) error {
	pa, _ := c.a.resolve(ra)
	pb, _ := c.b.resolve(rb)
	annA, err := c.array(c.a, pa.(Dict)["Annots"])
	if err != nil {
		return fmt.Errorf("issued %s: /Annots: %w", where, err)
	}
	annB, err := c.array(c.b, pb.(Dict)["Annots"])
	if err != nil {
		return fmt.Errorf("%s: /Annots: %w", where, err)
	}
	i := 0
	for _, y := range annB {
		if i < len(annA) {
			ok, err := c.eq(annA[i], y)
			if err != nil {
				return err
			}
			if ok {
				i++
				continue
			}
		}
		if err := c.newAnnot(y, where); err != nil {
			return err
		}
	}
	if i < len(annA) {
		return changed("%s: annotation %d changed or removed", where, i+1)
	}
	return nil
}

// newAnnot accepts an annotation the issued page did not have only when it is the widget
// of a signature field and carries no action.
func (c *comparer) newAnnot(v any, where string) error {
	o, err := c.b.resolve(v)
	if err != nil {
		return err
	}
	a, ok := o.(Dict)
	if !ok {
		return changed("%s: new annotation that is not a dictionary", where)
	}
	st, _ := c.b.resolve(a["Subtype"])
	sub, _ := st.(Name)
	if sub != "Widget" {
		if sub == "" {
			return changed("%s: new annotation without a /Subtype", where)
		}
		return changed("%s: new annotation /%s", where, sub)
	}
	for _, k := range []Name{"A", "AA"} {
		if _, ok := a[k]; ok {
			return changed("%s: new signature widget with an action /%s", where, k)
		}
	}
	ft, err := c.fieldType(a)
	if err != nil {
		return err
	}
	if ft != "Sig" {
		if ft == "" {
			return changed("%s: new widget of no form field", where)
		}
		return changed("%s: new widget of a /%s field", where, ft)
	}
	if c.area != ([4]float64{}) {
		// A widget's appearance is drawn inside its /Rect, so a rectangle inside the
		// area leaves the rest of the page as issued; an empty one draws nothing.
		r := rect(c.b, a["Rect"])
		llx, urx := min(r[0], r[2]), max(r[0], r[2])
		lly, ury := min(r[1], r[3]), max(r[1], r[3])
		const tol = 1 // point, for rounding in signing apps
		if urx > llx && ury > lly && (llx < c.area[0]-tol || lly < c.area[1]-tol || urx > c.area[2]+tol || ury > c.area[3]+tol) {
			return changed("%s: signature widget at [%g %g %g %g] outside the signature area", where, r[0], r[1], r[2], r[3])
		}
	}
	return nil
}

// rect reads a rectangle; what is not four numbers reads as zeros, an empty rectangle.
func rect(d *doc, v any) [4]float64 {
	var r [4]float64
	rv, _ := d.resolve(v)
	ra, ok := rv.(Array)
	if !ok || len(ra) != 4 {
		return r
	}
	for i, x := range ra {
		xv, _ := d.resolve(x)
		switch n := xv.(type) {
		case int64:
			r[i] = float64(n)
		case float64:
			r[i] = n
		}
	}
	return r
}

// fieldType is a field's /FT, its own or inherited through /Parent.
func (c *comparer) fieldType(f Dict) (Name, error) {
	for i := 0; i < maxFieldDepth; i++ {
		if ft, ok := f["FT"]; ok {
			v, err := c.b.resolve(ft)
			if err != nil {
				return "", err
			}
			n, _ := v.(Name)
			return n, nil
		}
		p, ok := f["Parent"]
		if !ok {
			return "", nil
		}
		v, err := c.b.resolve(p)
		if err != nil {
			return "", err
		}
		if f, ok = v.(Dict); !ok {
			return "", nil
		}
	}
	return "", limitErr("field hierarchy deeper than %d", maxFieldDepth)
}

// field is a node of a form's field tree with its inherited type.
type field struct {
	ref  Ref // zero when the field is a direct object
	dict Dict
	ft   Name
}

// fields lists every node of the field tree under an /AcroForm.
func fields(d *doc, acroForm any) ([]field, error) {
	af, err := d.resolve(acroForm)
	if err != nil || af == nil {
		return nil, err
	}
	form, ok := af.(Dict)
	if !ok {
		return nil, errors.New("/AcroForm is not a dictionary")
	}
	fv, err := d.resolve(form["Fields"])
	if err != nil || fv == nil {
		return nil, err
	}
	top, ok := fv.(Array)
	if !ok {
		return nil, errors.New("/Fields is not an array")
	}
	var out []field
	seen := map[Ref]bool{}
	var walk func(list Array, ft Name, depth int) error
	walk = func(list Array, ft Name, depth int) error {
		if depth > maxFieldDepth {
			return limitErr("field hierarchy deeper than %d", maxFieldDepth)
		}
		for _, v := range list {
			r, isRef := v.(Ref)
			if isRef {
				if seen[r] {
					continue
				}
				seen[r] = true
			}
			o, err := d.resolve(v)
			if err != nil {
				return err
			}
			f, ok := o.(Dict)
			if !ok {
				continue
			}
			if len(out) >= maxEntries {
				return limitErr("too many fields")
			}
			t := ft
			if x, ok := f["FT"]; ok {
				xv, err := d.resolve(x)
				if err != nil {
					return err
				}
				t, _ = xv.(Name)
			}
			out = append(out, field{ref: r, dict: f, ft: t})
			kv, err := d.resolve(f["Kids"])
			if err != nil {
				return err
			}
			if kids, ok := kv.(Array); ok {
				if err := walk(kids, t, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(top, "", 0)
}

// compareForm checks the interactive form: issued fields keep their values, new ones
// are signature fields (or their widgets), and no XFA form appears, since an XFA form
// replaces what a viewer shows.
func (c *comparer) compareForm(afA, afB any) error {
	fa, err := fields(c.a, afA)
	if err != nil {
		return fmt.Errorf("issued form: %w", err)
	}
	fb, err := fields(c.b, afB)
	if err != nil {
		return fmt.Errorf("form: %w", err)
	}
	if v, err := c.b.resolve(afB); err == nil {
		if form, ok := v.(Dict); ok {
			if _, ok := form["XFA"]; ok {
				if w, err := c.a.resolve(afA); err != nil || w == nil || w.(Dict)["XFA"] == nil {
					return changed("form: /XFA added")
				}
			}
		}
	}
	issued := map[Ref]Dict{}
	for _, f := range fa {
		if f.ref != (Ref{}) {
			issued[f.ref] = f.dict
		}
	}
	for _, f := range fb {
		if old, ok := issued[f.ref]; ok && f.ref != (Ref{}) {
			ok, err := c.eq(old["V"], f.dict["V"])
			if err != nil {
				return err
			}
			if !ok {
				return changed("form: the value of field %s changed", fieldName(c.b, f.dict))
			}
			continue
		}
		if f.ft != "Sig" {
			if _, hasKids := f.dict["Kids"]; hasKids && f.ft == "" {
				continue // a container of fields, checked with its kids
			}
			if f.ft == "" {
				return changed("form: new field %s of no type", fieldName(c.b, f.dict))
			}
			return changed("form: new /%s field %s", f.ft, fieldName(c.b, f.dict))
		}
	}
	return nil
}

func fieldName(d *doc, f Dict) string {
	v, _ := d.resolve(f["T"])
	if s, ok := v.(String); ok {
		return fmt.Sprintf("%q", textString(s))
	}
	return "(unnamed)"
}
