/* SPDX-License-Identifier: Apache-2.0 */
/* partition.c: the aws.partitions bit of a partition's name, shared by the target check and presign (pure). */
#include <string.h>

#include "proxy.h"

unsigned px_partition_bit(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} bits[] = {
		{"aws", PX_PARTITION_AWS},               {"aws-cn", PX_PARTITION_AWS_CN},
		{"aws-us-gov", PX_PARTITION_AWS_US_GOV}, {"aws-iso", PX_PARTITION_AWS_ISO},
		{"aws-iso-b", PX_PARTITION_AWS_ISO_B},
	};

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (strcmp(bits[i].name, name) == 0)
			return bits[i].bit;
	return 0;
}
