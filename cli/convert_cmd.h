/*
 * convert_cmd.h - the convert and compare subcommands (cli/convert_cmd.c).
 */
#ifndef ST_CLI_CONVERT_CMD_H
#define ST_CLI_CONVERT_CMD_H

/* argv[0] is "convert" or "compare"; returns the exit code. */
int st_cli_convert(int argc, char **argv);

#endif /* ST_CLI_CONVERT_CMD_H */
