# Writes fuzz/seeds/ from tests/fixtures/twilio.json and hand-written inputs.
# Run from anywhere: python3 fuzz/make_seeds.py (overwrites the files it names).
import base64, hashlib, hmac, json, os
from urllib.parse import urlencode
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
seeds = os.path.join(root, 'fuzz', 'seeds')
fixtures = json.load(open(os.path.join(root, 'tests/fixtures/twilio.json')))

def write(target, name, data):
    d = os.path.join(seeds, target); os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, name), 'wb').write(data)

def form(params):
    pairs = []
    for k, v in params.items():
        for x in (v if isinstance(v, list) else [v]):
            pairs.append((k, x))
    return urlencode(pairs)

# twilio_signature: url, headers, blank line, body
for v in fixtures:
    headers = dict(v['headers'])
    if v['secret'] != '12345':  # the fuzz target's default auth token
        headers['X-Fuzz-Auth-Token'] = v['secret']
    if v['method'] == 'GET':
        body = ''
    elif 'body' in v:
        body = v['body']; headers['Content-Type'] = v['content_type']
    else:
        body = form(v['params']); headers['Content-Type'] = 'application/x-www-form-urlencoded'
    text = v['url'] + '\n' + ''.join(f'{k}: {x}\n' for k, x in headers.items()) + '\n' + body
    write('twilio_signature', v['id'], text)

# One HMAC-SHA256 request signed with the fuzz targets' shared key HS1.
url = 'https://gw.example.com/webhooks/twilio/voice'
params = {'AccountSid': 'AC' + 'a'*32, 'CallSid': 'CA' + '0123456789abcdef'*2, 'From': '+14155550100', 'To': '+14155550199', 'StirVerstat': 'TN-Validation-Passed-A'}
s = url + ''.join(k + params[k] for k in sorted(params))
sig = base64.b64encode(hmac.new(b'fuzz-shared-key-1', s.encode(), hashlib.sha256).digest()).decode()
write('twilio_signature', 'hmac-sha256-settings',
      f'{url}\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\nX-Twilio-Signature: {sig}\n'
      f'X-Twilio-Webhooks-Signature-Settings: key=HS1,algorithm=HMAC_SHA256\n\n' + form(params))

# twilio_form: webhook bodies.
call = 'CA' + '0123456789abcdef'*2
write('twilio_form', 'voice', form({'AccountSid': 'AC'+'a'*32, 'ApiVersion': '2010-04-01', 'CallSid': call, 'CallStatus': 'ringing', 'Caller': '+14155550100', 'CallerName': '', 'Direction': 'inbound', 'From': '+14155550100', 'StirVerstat': 'TN-Validation-Passed-A', 'To': '+14155550199'}))
write('twilio_form', 'voice-anonymous', form(next(v for v in fixtures if v['id']=='tw-voice-anonymous-computed')['params']).replace('CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', call))
write('twilio_form', 'voice-client', form({'AccountSid': 'AC'+'b'*32, 'CallSid': call, 'From': 'client:alice', 'To': 'sip:support@pbx.example.com'}))
write('twilio_form', 'gather', form({'CallSid': call, 'Digits': '40012345', 'FinishedOnKey': '#'}))
write('twilio_form', 'gather-repeated', f'CallSid={call}&Digits=1234&Digits=1234')
write('twilio_form', 'gather-conflicting-repeat', f'CallSid={call}&Digits=1234&Digits=5678')
write('twilio_form', 'status', form({'CallSid': call, 'CallStatus': 'completed', 'SequenceNumber': '3', 'CallDuration': '42'}))
write('twilio_form', 'message-status', form({'MessageSid': 'SM' + 'f'*32, 'MessageStatus': 'undelivered', 'ErrorCode': '30003'}))
write('twilio_form', 'odd-escapes', 'From=%2B1%20415&To=%zz&Body=a+b%2&=&&x')
write('twilio_form', 'fixture-multivalue', form(next(v for v in fixtures if v['id']=='tw-multivalue-dedup-sorted')['params']))

# caller_id
for name, s in {'anonymous': 'anonymous', 'withheld-sentinel': '+266696687', 'sentinel-spaced': '+266 696 687',
                'client': 'client:alice', 'sip': 'sip:a@b', 'sips': 'SIPS:alice@example.com:5061',
                'us': '+14155550100', 'us-formatted': ' +1 (415) 555-0100 ', 'cn-mobile': '+8613800138000',
                'it-leading-zero': '+390612345678', 'niue': '+6837012', 'no-plus': '4155550100',
                'empty': '', 'restricted': 'Restricted', 'non-geo': '+80012345678', 'unicode-digits': '+١٤١٥٥٥٥٠١٠٠'}.items():
    write('caller_id', name, s)

# pin_input
for name, s in {'six': '123456', 'grouped': '123 456', 'dashed': '123-456', 'ten': '12345 67890',
                'too-long': '1234567', 'letters': '12a456', 'fullwidth': '１２３４５６', 'tabs': '\t1 2 3 4 5 6\n',
                'arabic-indic': '١٢٣٤٥٦', 'empty': '', 'words-not-digits': ' \nont \n'}.items():
    write('pin_input', name, s)

# org_import
design = '''[[org]]
id = "contoso"                 # stable id, [a-z0-9-]
name = "Contoso Ltd"
account_number = "40012345"    # what the caller keys into the IVR
registered_numbers = ["+14155550100", "+8613800138000"]
channels = ["email", "sms"]    # which challenge channels this org accepts
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"
'''
write('org_import', 'design-example.toml', design)
write('org_import', 'design-example.json', json.dumps({'org': [{'id': 'contoso', 'name': 'Contoso Ltd', 'account_number': '40012345',
    'registered_numbers': ['+14155550100', '+8613800138000'], 'channels': ['email', 'sms'],
    'contacts': {'email': 'it-admin@contoso.example', 'sms': '+14155550199'}, 'language': 'pt-BR'}]}, indent=1))
write('org_import', 'two-orgs-mistakes.toml', design + '''
[[org]]
id = "Contoso"
name = ""
account_number = "12"
registered_numbers = ["+14155550100", "anonymous"]
channels = ["fax"]
language = "en_US"
[org.contacts]
email = "not an email"
''')
write('org_import', 'stray-key.toml', 'orgs = []\n')

# telnyx: headers (x-fuzz-now: the verdict's time), blank line, body; every
# SDK-judged vector of tests/vectors/telnyx.json.
for v in json.load(open(os.path.join(root, 'tests/vectors/telnyx.json'))):
    headers = dict(v['headers']); headers['x-fuzz-now'] = str(v['now'])
    text = ''.join(f'{k}: {x}\n' for k, x in headers.items()) + '\n' + v['body']
    write('telnyx', v['id'], text)

# plivo: url, headers (X-Fuzz-Auth-Token: the vector's token; X-Fuzz-Method
# for GET), blank line, the params as a form; every V3 vector of
# tests/vectors/plivo.json and tests/vectors/plivo_sdk.json.
for name in ('plivo.json', 'plivo_sdk.json'):
    for v in json.load(open(os.path.join(root, 'tests/vectors', name))):
        if v['scheme'] != 'V3':
            continue
        headers = dict(v['headers']); headers['X-Fuzz-Auth-Token'] = v['secret']
        if v['method'] == 'GET':
            headers['X-Fuzz-Method'] = 'GET'
        text = v['url'] + '\n' + ''.join(f'{k}: {x}\n' for k, x in headers.items()) + '\n'
        write('plivo', v['id'], text + form(v['params']))
