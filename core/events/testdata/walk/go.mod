module github.com/warden-sec/warden

go 1.26
