package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// What excelize may cost is bounded before it opens a workbook: it decodes some parts
// whole, at many times their size, and reads every part of the package into memory.
// The figures were measured with excelize v2.11.1.
const (
	// metaLimit bounds the parts naming the workbook and its sheets (the relationships
	// and the workbook), which are decoded whole, together. An Excel workbook's are a
	// few KiB.
	metaLimit = 256 << 10
	// maxSharedStrings bounds the texts of the shared strings table, which excelize
	// indexes at about 90 bytes a text however short: 9 MB. A roster of 10,000 people
	// holds at most 60,000 different texts.
	maxSharedStrings = 100_000
	// inMemory is the largest sheet or shared strings table excelize may hold in
	// memory; a larger one is unpacked to a temporary file and streamed from there.
	inMemory = 64 << 10
	// maxScan bounds the rows and cells read, empty ones included, and the empty cells
	// excelize fills a row with up to its last value (a row with one value in column
	// XFD costs 16,384 strings): each costs a microsecond or two of XML decoding. A
	// sheet of 10,000 rows of 50 cells.
	maxScan = 1 << 19
)

// The paths excelize gives the parts it reads whatever the relationships say.
const (
	packageRelsPath   = "_rels/.rels"
	sharedStringsPath = "xl/sharedStrings.xml"
)

// The relationship types of the workbook, transitional and strict.
var officeDocument = []string{
	"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
	"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
}

// relationshipNS are the namespaces of the r:id attribute naming a sheet's part.
var relationshipNS = []string{
	"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
	"http://purl.oclc.org/ooxml/officeDocument/relationships",
}

// errWorkbook is a workbook that cannot be read; its message says why, to the user.
type errWorkbook string

func (e errWorkbook) Error() string { return string(e) }

// readXLSX reads the rows of the first sheet of an XLSX workbook.
func readXLSX(content []byte, opt Options, p *Problems) ([]Row, bool) {
	unreadable := func(err error) ([]Row, bool) {
		p.Reset() // the rows read before do not matter
		var we errWorkbook
		var pe *fs.PathError
		switch {
		case errors.As(err, &we):
			p.File("cannot be read as an Excel workbook (.xlsx): %v; save the sheet as CSV UTF-8", err)
		case errors.As(err, &pe):
			// A temporary file excelize unpacks a part to: its path is the server's.
			p.File("cannot be read as an Excel workbook (.xlsx) now (%v); try again", pe.Err)
		default:
			p.File("cannot be read as an Excel workbook (.xlsx); save it again from Excel, or as CSV UTF-8 (%v)", err)
		}
		return nil, false
	}
	zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return unreadable(err)
	}
	pkg, err := openPackage(zr, opt.UnzipLimit)
	if err != nil {
		return unreadable(err)
	}
	// excelize reads every part of the package, and decodes some at once: it gets only
	// those that the first sheet's values need. Its styles are left out: the values are
	// read as stored, as a number format could make a short cell's text long.
	slim, err := pkg.slim()
	if err != nil {
		return unreadable(err)
	}
	xopt := excelize.Options{UnzipSizeLimit: opt.UnzipLimit, UnzipXMLSizeLimit: inMemory, RawCellValue: true}
	if opt.UnzipLimit > 0 {
		xopt.UnzipXMLSizeLimit = min(inMemory, opt.UnzipLimit)
	}
	x, err := excelize.OpenReader(bytes.NewReader(slim), xopt)
	if err != nil {
		return unreadable(err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		p.File("is not an Excel workbook (.xlsx), or has no sheet")
		return nil, false
	}
	it, err := x.Rows(sheets[0])
	if err != nil {
		p.File("the sheet %q cannot be read: %v", sheets[0], err)
		return nil, false
	}
	defer it.Close()
	// excelize gives a formula cell's last value, not its formula: a scan of the same
	// sheet, row by row beside it, finds the formulas.
	scan, err := pkg.scanSheet(opt.UnzipLimit)
	if err != nil {
		return unreadable(err)
	}
	defer scan.close()
	rows := []Row{}
	for num := 1; it.Next(); num++ {
		// The scan reads each row before excelize does, so that a row of a million
		// cells is refused before excelize collects them.
		content, formulas, err := scan.row(num)
		if err != nil {
			return unreadable(err)
		}
		if !content {
			continue // blank; excelize's Next passes over it
		}
		cells, err := it.Columns(xopt)
		if err != nil {
			p.Reset()
			p.File("the sheet %q cannot be read at row %d: %v", sheets[0], num, err)
			return nil, false
		}
		r := Row{Num: num, Cells: cells}
		for _, i := range formulas {
			for len(r.Cells) <= i {
				r.Cells = append(r.Cells, "") // excelize keeps a formula cell, even empty
			}
			r.bad(i, "holds a formula; the import takes values, not formulas: copy the cells and paste them as values")
		}
		if opt.add(&rows, r, p) {
			break
		}
	}
	if err := it.Error(); err != nil {
		p.Reset()
		p.File("the sheet %q cannot be read: %v", sheets[0], err)
		return nil, false
	}
	return rows, true
}

// pkg is the parts of a workbook that reading its first sheet needs.
type pkg struct {
	parts []*zip.File // in the order of the archive
	sheet *zip.File   // the first sheet
	// texts are the lengths of the shared strings, in bytes: at least those of the
	// strings excelize makes of them.
	texts []int
}

// openPackage finds the parts of a workbook that reading its first sheet needs, and
// checks what they unpack to: together at most limit bytes (unless limit is 0), the
// parts naming the sheets at most metaLimit, and the shared strings table at most
// maxSharedStrings texts.
func openPackage(zr *zip.Reader, limit int64) (*pkg, error) {
	files := map[string]*zip.File{} // by name, as excelize names them
	for _, f := range zr.File {
		files[strings.ReplaceAll(f.Name, `\`, "/")] = f
	}
	lookup := func(name string) *zip.File { return files[name] }
	var meta uint64
	decode := func(name string, v any) error {
		f := lookup(name)
		if f == nil {
			return errWorkbook(fmt.Sprintf("it has no part %s", name))
		}
		meta += f.UncompressedSize64
		if meta > metaLimit {
			return errWorkbook(fmt.Sprintf("its parts describing the workbook unpack to more than %d KiB", metaLimit>>10))
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := xml.NewDecoder(rc).Decode(v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}

	var rels relationships
	if err := decode(packageRelsPath, &rels); err != nil {
		return nil, err
	}
	book := rels.target(officeDocument...)
	if book == "" {
		return nil, errWorkbook("it names no workbook")
	}
	book = strings.TrimPrefix(book, "/")
	bookRels := path.Join(path.Dir(book), "_rels", path.Base(book)+".rels")
	var wb workbook
	if err := decode(book, &wb); err != nil {
		return nil, err
	}
	var sheetRels relationships
	if err := decode(bookRels, &sheetRels); err != nil {
		return nil, err
	}
	if len(wb.Sheets) == 0 {
		return nil, errWorkbook("it has no sheet")
	}
	target := sheetRels.byID(wb.Sheets[0].id())
	if target == "" {
		return nil, errWorkbook("its first sheet has no part")
	}
	// As excelize's getWorksheetPath resolves it.
	sheetPath := strings.TrimPrefix(path.Clean(path.Dir(book)+"/"+target), "/")
	if strings.HasPrefix(target, "/") {
		sheetPath = strings.TrimPrefix(path.Clean(target), "/")
	}

	p := &pkg{sheet: lookup(sheetPath)}
	if p.sheet == nil {
		return nil, errWorkbook(fmt.Sprintf("it has no part %s", sheetPath))
	}
	keep := map[*zip.File]bool{p.sheet: true, lookup(packageRelsPath): true, lookup(book): true, lookup(bookRels): true}
	var sst *zip.File
	for _, f := range zr.File {
		// excelize takes the last part of this name, whatever its letter case.
		if strings.EqualFold(strings.ReplaceAll(f.Name, `\`, "/"), sharedStringsPath) {
			sst = f
		}
	}
	if sst != nil {
		keep[sst] = true
	}
	var total uint64
	for _, f := range zr.File {
		if !keep[f] {
			continue
		}
		p.parts = append(p.parts, f)
		total += f.UncompressedSize64
		if limit > 0 && total > uint64(limit) {
			return nil, errWorkbook(fmt.Sprintf("its first sheet unpacks to more than %s, the limit", mib(limit)))
		}
	}
	if sst != nil {
		texts, err := sharedStrings(sst)
		if err != nil {
			return nil, err
		}
		p.texts = texts
	}
	return p, nil
}

// mib writes a number of bytes in MiB.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// slim returns a ZIP archive of the parts, copied as they are.
func (p *pkg) slim() ([]byte, error) {
	var b bytes.Buffer
	size := 22 // the end of the central directory
	for _, f := range p.parts {
		size += int(f.CompressedSize64) + 2*(46+len(f.Name)+len(f.Extra)) + 24
	}
	b.Grow(size)
	w := zip.NewWriter(&b)
	for _, f := range p.parts {
		if err := w.Copy(f); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// relationships is a part's relationships, as much of them as finding the first sheet
// needs.
type relationships struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

// target returns the target of the first relationship of one of the types, or "".
func (r *relationships) target(types ...string) string {
	for _, rel := range r.Rels {
		for _, t := range types {
			if rel.Type == t {
				return rel.Target
			}
		}
	}
	return ""
}

// byID returns the target of the relationship id, or "".
func (r *relationships) byID(id string) string {
	for _, rel := range r.Rels {
		if rel.ID == id && id != "" {
			return rel.Target
		}
	}
	return ""
}

// workbook is a workbook's list of sheets, in order.
type workbook struct {
	Sheets []workbookSheet `xml:"sheets>sheet"`
}

type workbookSheet struct {
	Attrs []xml.Attr `xml:",any,attr"`
}

// id returns the relationship id (r:id) of a sheet.
func (s *workbookSheet) id() string {
	for _, a := range s.Attrs {
		for _, ns := range relationshipNS {
			if a.Name.Local == "id" && a.Name.Space == ns {
				return a.Value
			}
		}
	}
	return ""
}

// sharedStrings returns the lengths of the texts of a shared strings table, in bytes,
// reading it as a stream. A text's length counts all the text of its si element
// (phonetic runs too): at least that of the string excelize makes of it. It refuses a
// table of more than maxSharedStrings texts.
func sharedStrings(f *zip.File) ([]int, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	d := xml.NewDecoder(rc)
	var texts []int
	depth := 0 // inside a text: the depth of its si element, from 1
	for {
		// Raw tokens cost less, and are enough to count: a table that is not valid XML
		// is refused by excelize.
		tok, err := d.RawToken()
		if err == io.EOF {
			return texts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case depth > 0:
				depth++
			case t.Name.Local == "si":
				if len(texts) == maxSharedStrings {
					return nil, errWorkbook(fmt.Sprintf("it holds more than %d different texts", maxSharedStrings))
				}
				texts = append(texts, 0)
				depth = 1
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
		case xml.CharData:
			if depth > 0 {
				texts[len(texts)-1] += len(t)
			}
		}
	}
}

// sheetScan reads a sheet's XML as excelize's row iterator does, a row at a time, to
// find what that iterator does not tell: which cells hold formulas, rows too wide to
// collect, and cells that name long shared strings over and over (excelize makes a
// string of the shared string for each). It is stricter: rows and cells out of order,
// which no spreadsheet writes, are refused, so that both always agree on where a cell
// is.
type sheetScan struct {
	rc    io.ReadCloser
	d     *xml.Decoder
	texts []int // the lengths of the shared strings
	next  int   // the number of the row read next, once found
	done  bool
	// shared counts the bytes of the shared strings named by the cells read, up to
	// limit (unless it is 0).
	shared, limit int64
	// scanned counts the rows and cells read, up to maxScan.
	scanned int
	// The row last read: its number, whether a cell may hold a value, and its formula
	// cells' indices.
	last     int
	content  bool
	formulas []int
}

// scanSheet scans the first sheet; its cells may name at most limit bytes of shared
// strings (unless limit is 0), as much as the sheet may unpack to.
func (p *pkg) scanSheet(limit int64) (*sheetScan, error) {
	rc, err := p.sheet.Open()
	if err != nil {
		return nil, err
	}
	return &sheetScan{rc: rc, d: xml.NewDecoder(rc), texts: p.texts, limit: limit}, nil
}

func (s *sheetScan) close() { s.rc.Close() }

// row reads the sheet up to row num and returns whether a cell of that row may hold a
// value (else excelize reads it as empty), and the indices of its cells that hold a
// formula.
func (s *sheetScan) row(num int) (content bool, formulas []int, err error) {
	for s.last < num && !s.done {
		if err := s.read(); err != nil {
			return false, nil, err
		}
	}
	if s.last == num {
		return s.content, s.formulas, nil
	}
	return false, nil, nil
}

// read reads the next row.
func (s *sheetScan) read() error {
	for s.next == 0 {
		tok, err := s.token()
		if err != nil || tok == nil {
			return err
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local == "row" {
			if s.next, err = s.number(st); err != nil {
				return err
			}
		}
	}
	num := s.next
	s.next, s.last, s.content, s.formulas = 0, num, false, s.formulas[:0]
	// The row's cells are the c elements up to the next row or the sheet's end, as
	// excelize reads them.
	col, cells, width := 0, 0, 0
	for {
		tok, err := s.token()
		if err != nil {
			return err
		}
		st, ok := tok.(xml.StartElement)
		if tok == nil || ok && st.Name.Local == "row" {
			if s.scanned += 1 + max(cells, width); s.scanned > maxScan {
				return errWorkbook(fmt.Sprintf("its first sheet has more than %d rows and cells up to row %d, empty ones included", maxScan, num))
			}
			if ok {
				// Checked now, before excelize reads this row: it would read a row
				// numbered before it as more of this one.
				s.next, err = s.number(st)
			}
			return err
		}
		if ok && st.Name.Local == "c" {
			c, content, formula, err := s.cell(st, num, col)
			if err != nil {
				return err
			}
			col = c
			cells++
			if content {
				width, s.content = col, true
			}
			if formula {
				s.formulas = append(s.formulas, col-1)
			}
		}
	}
}

// number returns the number of the row starting with the element row, the one after
// the row last read, as excelize numbers it: its r attribute, else the one after.
func (s *sheetScan) number(row xml.StartElement) (int, error) {
	r, ok := attr(row, "r")
	if !ok {
		return s.last + 1, nil
	}
	n, err := strconv.Atoi(r)
	switch {
	case err != nil:
		return 0, errWorkbook(fmt.Sprintf("the row after row %d has no valid number", s.last))
	case n <= s.last:
		return 0, errWorkbook(fmt.Sprintf("its rows are out of order: row %d comes after row %d", n, s.last))
	case n > excelize.TotalRows:
		return 0, errWorkbook(fmt.Sprintf("it has a row %d; a sheet has at most %d", n, excelize.TotalRows))
	}
	return n, nil
}

// cell reads a cell, the one after column prev (from 1) unless it names its own, and
// returns its column, whether it may hold a value (excelize then makes a string of it,
// and of every cell before it in the row), and whether it holds a formula.
func (s *sheetScan) cell(start xml.StartElement, row, prev int) (col int, content, formula bool, err error) {
	col = prev + 1
	for _, a := range start.Attr {
		if a.Name.Local == "s" {
			if _, err := strconv.ParseInt(a.Value, 10, 64); err != nil {
				return 0, false, false, errWorkbook(fmt.Sprintf("a cell of row %d has an invalid style", row))
			}
		}
	}
	if ref, ok := attr(start, "r"); ok && ref != "" {
		c, _, err := excelize.CellNameToCoordinates(ref)
		if err != nil {
			return 0, false, false, errWorkbook(fmt.Sprintf("a cell of row %d has an invalid name %q", row, ref))
		}
		if c <= prev {
			return 0, false, false, errWorkbook(fmt.Sprintf("the cells of row %d are out of order", row))
		}
		col = c
	}
	if col > MaxCells {
		return 0, false, false, errWorkbook(fmt.Sprintf("row %d has more than %d cells", row, MaxCells))
	}
	typ, _ := attr(start, "t")
	for {
		tok, err := s.d.Token()
		if err != nil {
			return 0, false, false, fmt.Errorf("the sheet: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "c", "row":
				// excelize's Next would take a row inside a cell for the next row, when
				// the cell's own row is passed over as blank.
				return 0, false, false, errWorkbook(fmt.Sprintf("a cell of row %d holds a %s", row, t.Name.Local))
			case "f":
				formula, content = true, true
				err = s.d.Skip()
			case "is":
				content = true
				err = s.d.Skip()
			case "v":
				content = true
				var v string
				if err = s.d.DecodeElement(&v, &t); err == nil && typ == "s" {
					err = s.share(v, row)
				}
			}
			if err != nil {
				return 0, false, false, err
			}
		case xml.EndElement:
			if t == start.End() {
				return col, content, formula, nil
			}
		}
	}
}

// share counts the shared string a cell names by its index v, as excelize reads it.
func (s *sheetScan) share(v string, row int) error {
	i, _ := strconv.Atoi(strings.TrimSpace(v))
	if i < 0 || i >= len(s.texts) {
		return nil // excelize reports it
	}
	s.shared += int64(s.texts[i])
	if s.limit > 0 && s.shared > s.limit {
		return errWorkbook(fmt.Sprintf("its cells up to row %d repeat more than %s of text", row, mib(s.limit)))
	}
	return nil
}

// token returns the next token of the sheet, or nil at its end.
func (s *sheetScan) token() (xml.Token, error) {
	if s.done {
		return nil, nil
	}
	tok, err := s.d.Token()
	switch {
	case err == io.EOF:
		s.done = true
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("the sheet: %w", err)
	}
	if e, ok := tok.(xml.EndElement); ok && e.Name.Local == "sheetData" {
		s.done = true
		return nil, nil
	}
	return tok, nil
}

// attr returns the value of an element's attribute, the last of that local name as
// excelize reads it.
func attr(e xml.StartElement, local string) (v string, ok bool) {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			v, ok = a.Value, true
		}
	}
	return v, ok
}
