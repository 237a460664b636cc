package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// TestConformance runs the suite every back-end must pass, each test on a new file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
