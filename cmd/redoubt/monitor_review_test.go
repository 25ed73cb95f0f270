package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"redoubt/internal/config"
	"redoubt/internal/monitor"
	"redoubt/internal/scan"
)

// Adversarial review of the scanner's wiring in the server (issue 10).

// TestReviewScanningKeepsEveryFinding: the server keys the last scan's
// findings by rule, instance and node (findingKey). Several findings
// share that key — one weak-password finding per account, one
// public-no-tls per listen address, all with Node "" — so all but one are
// dropped: the console and the redoubt_scan_findings metric show one
// weak password where there are three, and a weak password that appears
// later on another account of the same instance makes no event at all.
func TestReviewScanningKeepsEveryFinding(t *testing.T) {
	rec := monitor.NewRecorder(nil, nil)
	sc := newScanning(slog.New(slog.DiscardHandler), rec, &config.Config{}, nil)
	weak := func(account string) scan.Finding {
		return scan.Finding{ID: scan.RuleWeakPassword, Severity: scan.High, Instance: "default",
			Title:    "account \"" + account + "\" has a password that is easy to guess",
			Evidence: "its password (password_hash, line 3) is one of the most common passwords"}
	}
	sc.report([]scan.Finding{weak("alice"), weak("bob")})
	if got := len(sc.Findings()); got != 2 {
		t.Errorf("after a scan with 2 weak-password findings, Findings() has %d", got)
	}
	if n := rec.Count(monitor.ScanFinding); n != 2 {
		t.Errorf("%d scan_finding events for 2 new findings", n)
	}
	sc.report([]scan.Finding{weak("alice"), weak("bob"), weak("carol")})
	if n := rec.Count(monitor.ScanFinding); n != 3 {
		t.Errorf("%d scan_finding events after carol's weak password appeared, want 3", n)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(sc)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "redoubt_scan_findings" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelOf(m, "rule") == scan.RuleWeakPassword {
				if v := m.GetGauge().GetValue(); v != 3 {
					t.Errorf("redoubt_scan_findings{rule=weak-password} = %v, want 3", v)
				}
			}
		}
	}
	var titles []string
	for _, f := range sc.Findings() {
		titles = append(titles, f.Title)
	}
	if !strings.Contains(strings.Join(titles, "\n"), "carol") {
		t.Errorf("carol's finding is not among the last findings: %q", titles)
	}
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
