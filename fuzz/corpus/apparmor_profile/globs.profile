include <tunables/global>
profile app {
  include <abstractions/base>
  include <abstractions/nameservice>
  include if exists <local/app>
  /a/**x**x**x**x**x**x**y r,
  /b/***/*?[!-~][^/]{,**} rw,
  //c///d/ r,
  file,
  r /x,
  /y Px -> other,
  /z Cx,
}
