/* Lookup over the compiled-in web assets. */
#include <string.h>

#include "api/api.h"

const struct api_asset *api_asset_find(const char *name)
{
	for (const struct api_asset *a = api_assets; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}
