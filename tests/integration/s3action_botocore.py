# SPDX-License-Identifier: Apache-2.0
# s3action_botocore.py: botocore makes a request for every S3 operation in its model, in both addressing styles; px_s3_action() (through s3action_run) must name each with botocore's operation name.
import datetime
import subprocess
import sys

import botocore.config
import botocore.session

# Operations whose request does not go to an S3 endpoint the audit maps
# (the gate's hook runs for service "s3" only), with why.
ELSEWHERE = {
    'WriteGetObjectResponse': 's3-object-lambda endpoint',
    'ListDirectoryBuckets': 's3express-control endpoint',
}
# Deprecated operations with the same request as their successor: the
# audit names the successor.
SAME_REQUEST = {
    'GetBucketLifecycle': 'GetBucketLifecycleConfiguration',
    'PutBucketLifecycle': 'PutBucketLifecycleConfiguration',
    'GetBucketNotification': 'GetBucketNotificationConfiguration',
    'PutBucketNotification': 'PutBucketNotificationConfiguration',
}
VALUES = {'Bucket': 'bkt', 'Key': 'dir/k.txt', 'UploadId': 'up1', 'PartNumber': 1, 'CopySource': 'src/k',
          'Id': 'id1', 'VersionId': 'v1'}


class Sent(Exception):
    pass


def value(shape, name):
    if name in VALUES:
        return VALUES[name]
    t = shape.type_name
    if t == 'string':
        return shape.enum[0] if getattr(shape, 'enum', None) else 'x'
    if t in ('integer', 'long'):
        return 1
    if t == 'boolean':
        return True
    if t == 'blob':
        return b''
    if t == 'timestamp':
        return datetime.datetime(2026, 1, 1)
    if t == 'list':
        return []
    if t == 'map':
        return {}
    if t == 'structure':
        return {m: value(shape.members[m], m) for m in shape.required_members}
    raise ValueError('%s: %s' % (name, t))


def capture(client, op_name, model):
    shape = model.operation_model(op_name).input_shape
    params = {} if shape is None else {m: value(shape.members[m], m) for m in shape.required_members}
    got = {}

    def hook(request, **_):
        got.update(method=request.method, url=request.url, headers=request.headers)
        raise Sent()

    client.meta.events.register('before-send.s3', hook)
    try:
        getattr(client, botocore.xform_name(op_name))(**params)
    except Sent:
        pass
    finally:
        client.meta.events.unregister('before-send.s3', hook)
    return got


def main():
    run = sys.argv[1]
    sess = botocore.session.get_session()
    model = sess.get_service_model('s3')
    rows, want, names = [], [], []
    for style in ('virtual', 'path'):
        cfg = botocore.config.Config(s3={'addressing_style': style}, parameter_validation=False,
                                     retries={'max_attempts': 1})
        client = sess.create_client('s3', region_name='us-east-1', aws_access_key_id='AKIDEXAMPLE',
                                    aws_secret_access_key='secret', config=cfg)
        for op in model.operation_names:
            if ELSEWHERE.get(op):
                continue
            r = capture(client, op, model)
            if not r:
                print('not ok - %s (%s): botocore sent nothing' % (op, style))
                sys.exit(1)
            url = r['url'].split('://', 1)[1]
            host, _, rest = url.partition('/')
            vhost = host.startswith('bkt.')
            copy = 'x-amz-copy-source' in {k.lower() for k in r['headers'].keys()}
            rows.append('%s\t%d\t/%s\t%d' % (r['method'], vhost, rest, copy))
            want.append(SAME_REQUEST.get(op, op))
            names.append('%s %s %s (%s)' % (op, r['method'], '/' + rest, style))
    p = subprocess.run([run], input='\n'.join(rows) + '\n', stdout=subprocess.PIPE, universal_newlines=True,
                       check=True)
    got = p.stdout.splitlines()
    if len(got) != len(rows):
        print('not ok - s3action_run printed %d lines for %d requests' % (len(got), len(rows)))
        sys.exit(1)
    bad = 0
    for n, w, g in zip(names, want, got):
        if g != w:
            bad += 1
            print('not ok - %s: got %s, want %s' % (n, g, w))
    print('%s - %d S3 requests made by botocore %s (%d operations, virtual-hosted and path style) named as botocore names them'
          % ('ok' if bad == 0 else 'not ok', len(rows), botocore.__version__, len(rows) // 2))
    # Things botocore does not make: the negative cases.
    extra = ['GET\t1\t/?x-id=PutObject\t0', 'OPTIONS\t1\t/k\t0', 'POST\t1\t/k\t0', 'GET\t0\t\t0',
             'GET\t0\tnoslash\t0', 'PUT\t0\t/bkt/k?uploadId=1\t1', 'GET\t1\t/k?tagging%3D\t0',
             'GET\t0\t/bkt/\t0', 'GET\t1\t/?list-type=2&prefix=a\t0', 'get\t1\t/k\t0']
    want = ['ListObjects', '-', '-', '-', '-', 'CopyObject', 'GetObject', 'ListObjects', 'ListObjectsV2', '-']
    p = subprocess.run([run], input='\n'.join(extra) + '\n', stdout=subprocess.PIPE, universal_newlines=True,
                       check=True)
    got = p.stdout.splitlines()
    for e, w, g in zip(extra, want, got):
        if g != w:
            bad += 1
            print('not ok - %r: got %s, want %s' % (e, g, w))
    print('%s - x-id ignored, unknown methods, bad paths and encoded keys name nothing or the plain operation'
          % ('ok' if bad == 0 else 'not ok'))
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
