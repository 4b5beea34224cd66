package stats

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemlb/tandem/health"
)

// readHAProxyCSV reads testdata/haproxy26-show-stat.csv: the output of a
// real HAProxy 2.6.12 `show stat` (frontend, a checked server that is
// DOWN, a server without checks, a checked backup, the backend).
func readHAProxyCSV(t *testing.T) (header []string, rows map[string][]string) {
	t.Helper()
	b, err := os.ReadFile("testdata/haproxy26-show-stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	return parseCSV(t, b)
}

func parseCSV(t *testing.T, b []byte) (header []string, rows map[string][]string) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, b)
	}
	header = recs[0]
	header[0] = strings.TrimPrefix(header[0], "# ")
	rows = make(map[string][]string)
	for _, rec := range recs[1:] {
		if len(rec) != len(header) {
			t.Fatalf("row %v has %d fields, header %d", rec[:2], len(rec), len(header))
		}
		rows[rec[0]+"/"+rec[1]] = rec
	}
	return header, rows
}

func TestCSVHeaderIsHAProxys(t *testing.T) {
	t.Parallel()
	hh, _ := readHAProxyCSV(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, nil); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(strings.TrimPrefix(buf.String(), "# "), ",\n"), ",")
	// HAProxy's static fields end where the "-" column starts.
	dash := -1
	for i, c := range hh {
		if c == "-" {
			dash = i
			break
		}
	}
	if diff := cmp.Diff(hh[:dash], got); diff != "" {
		t.Errorf("header differs from HAProxy 2.6's static fields (-haproxy +tandem):\n%s", diff)
	}
}

// TestCSVRowShapes compares which fields each kind of row fills with what
// HAProxy 2.6 fills, so tools that read HAProxy's CSV find the same cells.
// The differences are fields tandem does not measure (HAProxy prints 0,
// tandem leaves them blank rather than claim a value).
func TestCSVRowShapes(t *testing.T) {
	t.Parallel()
	_, hrows := readHAProxyCSV(t)
	now := time.Unix(1800000000, 0)
	p := newFakeProxy()
	src := testSource(p, now)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, src.View().Rows()); err != nil {
		t.Fatal(err)
	}
	th, trows := parseCSV(t, buf.Bytes())
	notMeasured := map[string]bool{
		"cli_abrt": true, "srv_abrt": true, "qtime": true, "ctime": true, "rtime": true, "ttime": true,
		"qtime_max": true, "ctime_max": true, "rtime_max": true, "ttime_max": true, "connect": true, "reuse": true,
		"idle_conn_cur": true, "safe_conn_cur": true, "used_conn_cur": true, "need_conn_est": true,
		"agg_server_status": true, "agg_server_check_status": true, "agg_check_status": true,
		// The test config gives s1 a maxconn, HAProxy's had none.
		"slim": true,
		// The fake's checks have not run yet (INI); HAProxy's had.
		"check_duration": true, "last_chk": true,
	}
	for _, key := range []string{"http-in/FRONTEND", "app/s1", "app/s2", "app/s3", "app/BACKEND"} {
		hr, tr := hrows[key], trows[key]
		if tr == nil {
			t.Errorf("tandem has no %s row", key)
			continue
		}
		var diffs []string
		for i, name := range th {
			if notMeasured[name] || name == "" {
				continue
			}
			if (hr[i] == "") != (tr[i] == "") {
				diffs = append(diffs, name+": haproxy "+strconvQ(hr[i])+" tandem "+strconvQ(tr[i]))
			}
		}
		if len(diffs) > 0 {
			t.Errorf("%s: fields filled differently:\n  %s", key, strings.Join(diffs, "\n  "))
		}
	}
}

func strconvQ(s string) string { return "\"" + s + "\"" }

func TestCSVValues(t *testing.T) {
	t.Parallel()
	now := time.Unix(1800000000, 0)
	p := newFakeProxy()
	for range 7 {
		p.request(200, 100, 1000)
	}
	p.request(503, 100, 50)
	p.backends[0].servers[1].h.SetAdmin(health.Drain)
	p.backends[0].servers[2].h.SetAdmin(health.Maint)
	src := testSource(p, now)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, src.View().Rows()); err != nil {
		t.Fatal(err)
	}
	h, rows := parseCSV(t, buf.Bytes())
	col := func(key, name string) string {
		for i, c := range h {
			if c == name {
				return rows[key][i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	tests := []struct{ key, col, want string }{
		{"http-in/FRONTEND", "status", "OPEN"},
		{"http-in/FRONTEND", "stot", "8"},
		{"http-in/FRONTEND", "req_tot", "8"},
		{"http-in/FRONTEND", "hrsp_2xx", "7"},
		{"http-in/FRONTEND", "hrsp_5xx", "1"},
		{"http-in/FRONTEND", "bin", "800"},
		{"http-in/FRONTEND", "bout", "7050"},
		{"http-in/FRONTEND", "slim", "4096"},
		{"http-in/FRONTEND", "type", "0"},
		{"app/s1", "status", "UP 1/3"}, // checked, no check run yet: up, going down at the first failure
		{"app/s1", "check_status", "INI"},
		{"app/s1", "lbtot", "8"},
		{"app/s1", "slim", "300"},
		{"app/s1", "addr", "127.0.0.1:8081"},
		{"app/s1", "lastchg", "90"},
		{"app/s1", "sid", "1"},
		{"app/s1", "type", "2"},
		{"app/s2", "status", "DRAIN"},
		{"app/s2", "weight", "3"},
		{"app/s3", "status", "MAINT"},
		{"app/s3", "bck", "1"},
		{"app/BACKEND", "status", "UP"},
		{"app/BACKEND", "act", "1"},
		{"app/BACKEND", "weight", "1"},
		{"app/BACKEND", "algo", "roundrobin"},
		{"app/BACKEND", "stot", "8"},
		{"app/BACKEND", "lbtot", "8"},
		{"app/BACKEND", "type", "1"},
	}
	for _, tt := range tests {
		if got := col(tt.key, tt.col); got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.key, tt.col, got, tt.want)
		}
	}
}

func TestCSVQuoting(t *testing.T) {
	t.Parallel()
	var r Row
	r[colPxname], r[colSvname], r[colLastChk] = str(`a,b`), str(`say "hi"`), str("plain")
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []Row{r}); err != nil {
		t.Fatal(err)
	}
	line := strings.Split(buf.String(), "\n")[1]
	if !strings.HasPrefix(line, `"a,b","say ""hi""",`) {
		t.Errorf("row = %q, want quoted fields", line)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	p := newFakeProxy()
	p.request(200, 10, 20)
	src := testSource(p, time.Unix(1800000000, 0))
	var buf bytes.Buffer
	if err := WriteJSON(&buf, src.View(), true); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info  []InfoField      `json:"info"`
		Stats []map[string]any `json:"stats"`
		VRRP  []map[string]any `json:"vrrp"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, buf.String())
	}
	if len(doc.Stats) != 5 {
		t.Fatalf("%d stats objects, want 5", len(doc.Stats))
	}
	fe := doc.Stats[0]
	if fe["svname"] != "FRONTEND" || fe["req_tot"] != float64(1) || fe["hrsp_2xx"] != float64(1) {
		t.Errorf("frontend object = %v", fe)
	}
	if _, ok := fe["qcur"]; ok {
		t.Errorf("blank field qcur present in the frontend object")
	}
	for _, f := range doc.Info {
		if f.Name == "Version" && f.Value != "" {
			t.Errorf("hide_version: Version = %q", f.Value)
		}
	}
	if len(doc.VRRP) != 1 || doc.VRRP[0]["state"] != "MASTER" {
		t.Errorf("vrrp = %v", doc.VRRP)
	}
}

func TestRates(t *testing.T) {
	t.Parallel()
	now := time.Unix(1800000000, 0)
	p := newFakeProxy()
	src := testSource(p, now)
	src.o.Now = func() time.Time { return now }
	src.Sample()
	for range 5 {
		p.request(200, 1, 1)
	}
	now = now.Add(time.Second)
	src.Sample()
	v := src.View()
	if v.Frontends[0].Rate != 5 || v.Frontends[0].RateMax != 5 || v.ReqRate != 5 {
		t.Errorf("rates after 5 requests in a second: fe %d max %d, process req %d; want 5", v.Frontends[0].Rate, v.Frontends[0].RateMax, v.ReqRate)
	}
	now = now.Add(time.Second)
	src.Sample()
	v = src.View()
	if v.Frontends[0].Rate != 0 || v.Frontends[0].RateMax != 5 {
		t.Errorf("rate a quiet second later = %d (max %d), want 0 (5)", v.Frontends[0].Rate, v.Frontends[0].RateMax)
	}
	if got := v.Backends[0].Servers[0].LastSess; !got.Equal(now.Add(-time.Second)) {
		t.Errorf("last session = %v, want %v", got, now.Add(-time.Second))
	}
}
