package other

import "github.com/warden-sec/warden/app"

func use() { app.Record(nil, "fixture.cross") }
