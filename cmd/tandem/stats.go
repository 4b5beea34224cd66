package main

import "time"

// processStart is when this process started, for the uptime the stats page
// and `show info` report.
var processStart = time.Now()
