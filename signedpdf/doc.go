package signedpdf
