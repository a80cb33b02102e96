profile app /usr/bin/app {
  "/tmp/unterminated r,
}
