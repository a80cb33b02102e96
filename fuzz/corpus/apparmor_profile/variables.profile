@{A} = @{B}/x
@{B} = @{A}/y
@{C} = {a,b,c,d}{e,f,g,h}{1,2,3,4}
@{C} += /z
profile app {
  @{A} r,
  @{C}@{C}@{C}@{C} r,
  @{nope}/x r,
  @{ r,
  /proc/@{pid}/task/@{tid}/** r,
}
