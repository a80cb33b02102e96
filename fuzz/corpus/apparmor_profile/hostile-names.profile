profile "odd name" "/opt/evil dir/run\"me\{\*\}" flags=(complain,attach_disconnected) {
  "/srv/x\", /\*\* rwlkmix,\012/etc/shadow r" r,
  "/srv/\000nul" r,
  /srv/#hash r,
  "/srv/a,b" rw,
  /srv/ÿþ r,
  owner /** rwlkmix -> /x,
  deny /etc/** w,
  network inet,
  capability,
  signal (send) peer=foo,
  ^hat {
  }
}
