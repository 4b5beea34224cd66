// Package stats serves the stats page (HTML with auto-refresh, basic auth,
// admin actions), HAProxy-compatible CSV, JSON and Prometheus metrics from
// read-only snapshots of lb and vrrp. It never changes proxy state except
// through the admin actions the configuration allows.
package stats
