// Package signedpdf verifies the signed confirmations delegates send back: that a file is
// the confirmation the service issued, signed, and changed in no other way.
//
// # The model
//
// A delegate signs the issued PDF with whatever app their CA provides. Every such app
// appends an incremental update: the issued bytes stay in place and new objects follow
// them (the signature, its field and widget, a new catalog with an /AcroForm, a page whose
// /Annots lists the widget). A PDF viewer shows the merged state of all revisions, so
// what matters is not only that the signature verifies over its byte range but that the
// update shows nothing the service did not issue: the "shadow" attacks hide content in the
// signed revision and reveal it with a later one, and "incremental saving" attacks append
// after signing. The rule is that of Adobe's DocMDP permission level 2 (fill in forms and
// sign), narrowed to what a confirmation needs:
//
//   - the issued bytes are an exact prefix of the file (Verify compares them);
//   - the updates after them may add a signature field (/FT /Sig) and its widget with
//     the widget's own appearance (XObjects, fonts: poppler embeds a whole font there),
//     the /AcroForm that lists it, a /DSS (certificates and revocation data for
//     long-term validation), XMP /Metadata and the Info dictionary, a catalog /Version
//     (pdfsign raises 1.3 to 1.5) and /Perms (a certification's DocMDP, which only
//     restricts); and the page's /Annots may grow by the signature widget;
//   - nothing else: not the page's content or resources, not a page added or removed,
//     no other annotation (a /FreeText over the ticked box would change the vote that
//     people see), no new form field other than a signature, no changed form value, no
//     new catalog entry (/OpenAction, /Names with JavaScript, /OCProperties that hide
//     content, /AA), no XFA form, no /Encrypt.
//
// Verify resolves two states, the issued one (the issued bytes' own cross-reference
// sections) and the final one (every revision merged, later ones overriding), and
// compares them by value, following references in each state, key by key from the
// catalog and page by page down the page tree. Objects no one reaches from the catalog
// do not matter to a viewer and are not compared; objects that are reached are compared
// whatever their number, so moving content to new object numbers changes nothing.
//
// Then every signature must verify (CMS detached, or an RFC 3161 document timestamp over
// its byte range), each signature must cover the whole issued document, and the last must
// cover the whole file. The signer's certificate must chain to Options.Roots (never to
// what the file embeds), be valid at receipt, be for signing, and carry no unknown
// critical extension; the time it claims to have signed must lie between issue and
// receipt. The server checks who signed (Signature.Subject, PersonalIDs) against the
// delegate.
//
// # Hostile input
//
// Files come from outside. Reading never panics and is bounded: nesting depth, xref
// sections and entries, decompressed bytes (32 MiB a call, all streams together), object
// reads and comparison steps all have limits (see the constants in xref.go); a file that
// exceeds one is rejected as too_complex. The package reads only what it needs: streams
// are compared by their encoded bytes and decoded only for xref streams, object streams
// and ScanImages.
//
// It does not use github.com/digitorus/pdf: that reader panics on bad input and merges
// revisions without saying which bytes came from which.
package signedpdf
