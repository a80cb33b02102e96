/* A small translation unit for the compiler workload of the AppArmor VM tests. */
static int table[4] = {1, 2, 3, 4};
int sum(void) {
    int s = 0;
    for (int i = 0; i < 4; i++) s += table[i];
    return s;
}
