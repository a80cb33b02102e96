/* A small translation unit for the compiler workload of the AppArmor VM tests. */
int add(int a, int b) { return a + b; }
