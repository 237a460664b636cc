// Package metrics exposes the server's metrics to Prometheus. It is the only package that
// imports Prometheus: the server takes its interceptors through server.CallMetrics, the
// SQLite store reports each vote batch through sqlite.VoteObserver, and the counts kept
// in the database are read at each scrape through Source.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	bq "github.com/bieuquyet/bieuquyet"
)

// scrapeTimeout bounds the queries one scrape makes: a scrape must not queue up behind a
// database that hangs.
const scrapeTimeout = 5 * time.Second

// Source gives the counts the database holds (sqlite.Store satisfies it).
type Source interface {
	OpenPolls(ctx context.Context) (int, error)
	ConfirmationsByStatus(ctx context.Context) (map[bq.ConfirmationStatus]int, error)
}

// statuses are every confirmation status, so that each series exists from the start,
// at zero, rather than appear with the first confirmation in it.
var statuses = []bq.ConfirmationStatus{bq.StatusAwaitingSignature, bq.StatusSigned, bq.StatusMismatch,
	bq.StatusRejected, bq.StatusDeclined, bq.StatusOverdue}

// Metrics is one server's metrics, in a registry of its own (not the global one), so
// that tests can run several servers in one process.
type Metrics struct {
	reg       *prometheus.Registry
	grpc      *grpcprom.ServerMetrics
	batchSize prometheus.Histogram
	batchTime prometheus.Histogram
	log       *slog.Logger
}

// New makes the metrics: the grpc_server_* series with handling-time histograms, the
// vote writer's batches, and the Go runtime's and the process's own.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg:  prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bieuquyet_vote_batch_size",
			Help: "Votes committed together by the vote writer in one transaction (group commit).",
			// 1 to 256, the writer's largest batch.
			Buckets: prometheus.ExponentialBuckets(1, 2, 9),
		}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bieuquyet_vote_batch_commit_seconds",
			Help: "Time one vote batch's transaction took, from BEGIN to the end of COMMIT, fsync included.",
			// 0.5 ms to 4 s: an fsync is a few milliseconds on a good disk, far more on a bad one.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		log: log,
	}
	m.reg.MustRegister(m.grpc, m.batchSize, m.batchTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveVoteBatch records one batch of the vote writer (sqlite.VoteObserver).
func (m *Metrics) ObserveVoteBatch(size int, took time.Duration) {
	m.batchSize.Observe(float64(size))
	m.batchTime.Observe(took.Seconds())
}

// UnaryInterceptor counts and times unary calls (server.CallMetrics).
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return m.grpc.UnaryServerInterceptor()
}

// StreamInterceptor counts and times streaming calls (server.CallMetrics).
func (m *Metrics) StreamInterceptor() grpc.StreamServerInterceptor {
	return m.grpc.StreamServerInterceptor()
}

// InitializeMetrics makes every method's series exist at zero before its first call
// (server.CallMetrics), so that rates and alerts see them from the start.
func (m *Metrics) InitializeMetrics(s *grpc.Server) { m.grpc.InitializeMetrics(s) }

// CountStore adds the gauges read from src at each scrape: open polls and
// confirmations by status.
func (m *Metrics) CountStore(src Source) {
	m.reg.MustRegister(&storeCollector{src: src, log: m.log,
		openPolls: prometheus.NewDesc("bieuquyet_open_polls", "Polls open for votes.", nil, nil),
		confirmations: prometheus.NewDesc("bieuquyet_confirmations", "Issued confirmations, by status.",
			[]string{"status"}, nil),
	})
}

// Handler serves the metrics in the Prometheus exposition format. A query that fails
// leaves its series out of that scrape, logged; the others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      printer{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // counts its own errors: promhttp_metric_handler_errors_total
	})
}

// storeCollector reads its gauges from the database at each scrape, so they are never
// stale and nothing has to keep them up to date.
type storeCollector struct {
	src                      Source
	log                      *slog.Logger
	openPolls, confirmations *prometheus.Desc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.openPolls
	ch <- c.confirmations
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if n, err := c.src.OpenPolls(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.openPolls, fmt.Errorf("count open polls: %w", err))
	} else {
		ch <- prometheus.MustNewConstMetric(c.openPolls, prometheus.GaugeValue, float64(n))
	}
	counts, err := c.src.ConfirmationsByStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.confirmations, fmt.Errorf("count confirmations: %w", err))
		return
	}
	for _, s := range statuses {
		ch <- prometheus.MustNewConstMetric(c.confirmations, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

// printer logs promhttp's errors (a failed query, a failed write to the scraper).
type printer struct{ log *slog.Logger }

func (p printer) Println(v ...any) { p.log.Error("metrics", "error", fmt.Sprint(v...)) }
