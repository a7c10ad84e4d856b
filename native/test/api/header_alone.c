/* Compiled once per public header (-DHEADER="opentok/x.h"), as C11 and as C++: each header
 * a Vonage program may include on its own compiles on its own. */
#include HEADER

int main(void) { return 0; }
