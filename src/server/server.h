/* The daemon: configuration, workers, signals. */
#ifndef TS_SERVER_H
#define TS_SERVER_H

/* turnstone serve [options]: returns the process exit status (2 for a
 * configuration error). */
int server_main(int argc, char **argv);

#endif
