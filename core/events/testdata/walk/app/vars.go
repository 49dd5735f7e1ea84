package app

var shared = "fixture.shared"
