profile app {
  "/a\x" r,
  "/b\d999" r,
  "/c\777" r,
  "/d\" r,
  /e\\ r,
  "/f\Ã" r,
  /g[z-a] r,
  /h[] r,
  /i[^ r,
  /j} r,
}
