profile a {
}
profile b {
}
