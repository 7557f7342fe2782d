## Perezvon bot, English.

lang-name = 🇬🇧 English
lang-which = Choose a language:
lang-set = Language: English.

## Menu (setMyCommands)
menu-today = Today's tasks
menu-week = This week's tasks
menu-deals = My deals
menu-export = Export contacts to Excel
menu-report = Sales digest (managers)
menu-digest = Digest subscription (managers)
menu-team = Team (admin)
menu-invite = Invite a teammate (admin)
menu-targets = Monthly sales targets
menu-lang = Language
menu-help = Help

## Reply keyboard
kb-today = 📅 Today
kb-new-contact = ➕ New contact
kb-my-deals = 💼 My deals

## Access
private-only = I only work in private chats. Message me directly.
refused-inactive = Your access is switched off. Your Telegram id: <code>{ $id }</code>. Talk to an admin.
first-admin-how = Hello! Nobody works in Perezvon yet, so the first admin is made on the server: run <code>perezvon users invite --role admin</code> there and open the link it prints (or send <code>/start code</code> here). Then you invite everyone else with /invite. Your Telegram id: <code>{ $id }</code>.
invite-already-member = { $name }, you are on the team already (role: { $role }), so the invite changed nothing. An admin changes roles in /team, or on the server: <code>perezvon users set-role --telegram-id ID --role admin</code>.
joined = Welcome, { $name }! Your role: { $role }. Type a name, company or phone to find a contact.
welcome-back = Welcome back, { $name }! Type a name, company or phone to search.
help =
    Type a name, company, e-mail or phone and I will find the contact.
    Reply to a contact card to add a note.
    Share a Telegram contact to create or open it.
    /today — today's tasks, /week — this week, /deals — my deals, /lang — language.
    /export — my contacts as an Excel file.
    Managers: /report — the sales digest for a period, /digest — the digest on a schedule;
    send an .xlsx or .csv file to import contacts (you see what changes first).
unknown-command = I don't know that command. /help shows what I can do.
not-text = I understand text, contacts and buttons. Files and stickers are not saved.

## Invites
invite-no-link = (the bot's username is unknown — send the code)
ask-extension = Send the PBX extension (or several, separated by spaces).
extension-set = Extensions mapped: { $name }.

## Roles and team
role-admin = admin
role-manager = manager
role-sales = sales
team-title = Team: { $count ->
    [one] { $count } person
   *[other] { $count } people
}
team-inactive = deactivated
btn-extension = ☎️ Map extension
btn-deactivate = ⛔ Deactivate

## Errors
error-not-found = Not found or no longer available.
error-forbidden = You are not allowed to do that.
error-finished = Already finished.
error-unexpected = Something went wrong, try again.

## Search
search-hint = Type a name, company, e-mail or phone to search.
search-too-long = The query is too long (at most { $limit } characters).
search-none = Nothing found for “{ $query }”.
search-layout-swapped = 🔤 Looks like the wrong keyboard layout: searching for “{ $query }”.
search-found = Found { $count ->
    [one] { $count } contact
   *[other] { $count } contacts
} for “{ $query }” (page { $page }):
search-found-many = More than { $count } contacts for “{ $query }” — narrow it down (page { $page }):
search-expired = This search is old — type it again.
btn-create-with-phone = ➕ Create contact { $phone }

## Contacts
btn-cancel = ✖️ Cancel
dialog-canceled = Canceled.
dialog-nothing-to-cancel = There is nothing to cancel.
dialog-drop-ask = You have not finished typing. Drop it?
btn-dialog-drop = Drop it
btn-dialog-keep = Keep typing
dialog-dropped = Dropped — press the menu button again.
dialog-kept = Go on: the bot is waiting for your answer.
ask-contact-name = What is the contact's name? Add the company after a comma: “Ivan Petrov, Vector LLC”.
ask-contact-name-for = What is the name of the contact with { $phone }?
ask-contact-phone = The contact's phone? (or “-” to skip)
contact-created = ✅ Contact created.
contact-updated = ✅ Saved.
phone-taken = This number already belongs to:
phone-taken-hidden = This number already belongs to a colleague's contact.
card-owner = Owner: { $owner }
card-no-owner = nobody
card-last = Last interaction: { $when }
card-next = ⏰ Next: { $when } · { $title }
card-consent = 💌 Agreed to greetings
btn-note = 📝 Note
btn-plan = ⏰ Plan
btn-timeline = 🕓 Timeline
btn-calls = 📞 Calls
btn-deal = 💼 Deal
btn-edit = ✏️ Edit
btn-owner = 👤 Owner
btn-invite-client = 💌 Invite client
btn-card = 👤 Card
btn-back = ◀️ Back
btn-create = ➕ Create contact
ask-note = 📝 { $name }: write the note.
note-added = 📝 Note added.
colleague-note =
    📝 A note on your client <b>{ $client }</b>
    By: { $author }
    { $text }
timeline-title = Timeline: { $count ->
    [one] { $count } entry
   *[other] { $count } entries
}
timeline-empty = Nothing yet.
calls-title = Calls:
calls-empty = No calls yet.
edit-which = What to change?
field-name = Name
field-company = Company
field-email = E-mail
field-phone = Add a phone
ask-field-name = New name:
ask-field-company = Company:
ask-field-email = E-mail:
ask-field-phone = Phone:
owner-which = Who should own this contact?
client-invite-link = Send this link to the client to receive greetings:
    { $link }
client-invite-code = The bot's username is unknown. The client can send the bot: <code>{ $code }</code>
client-welcome = Thank you! You will receive our greetings. To unsubscribe: /stop
client-stop-nothing = You are not subscribed.
stop-nothing = Nothing to stop.

## Activities
status-planned = planned
status-done = done
status-canceled = canceled
activity-due = Due: { $when }
activity-late = ⚠️ Overdue
activity-closed = Status: { $status }
btn-done = ✅ Done
btn-snooze-15 = 15 min
btn-snooze-60 = 1 hour
btn-snooze-tomorrow = Tomorrow 9:00
btn-reschedule = 📅 Reschedule
done-ok = Done!
snoozed-short = Reminding at { $when }
rescheduled = 📅 Moved to { $when }.
today-title = Today
week-title = This week
agenda-overdue = ⚠️ Overdue: { $count }
agenda-planned = Planned: { $count }
agenda-empty = Nothing planned 🎉
plan-ask = When? Type e.g. “tomorrow 3pm”, “friday 10am”, “in 2 hours”, “25.12 14:30” — or tap a button.
plan-unclear = I could not read the time. Examples: “tomorrow 3pm”, “friday 10am”, “monday morning”, “in 2 hours”, “25.12 14:30”. Morning is 9:00, afternoon 14:00, evening 18:00.
day-and-time = { $weekday }, { $day } { $month }, { $time }
weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun
month-of-1 = January
month-of-2 = February
month-of-3 = March
month-of-4 = April
month-of-5 = May
month-of-6 = June
month-of-7 = July
month-of-8 = August
month-of-9 = September
month-of-10 = October
month-of-11 = November
month-of-12 = December
plan-no-such-date = There is no “{ $written }” in the calendar. Try “25.12 14:30”, “monday morning” or “tomorrow 3pm”.
plan-done = ⏰ Planned: { $title } — { $when }
plan-default-title = Call: { $name }
plan-default-task = Task
plan-expired = This button is out of date.
btn-plan-in-1h = In 1 hour
btn-plan-in-3h = In 3 hours
btn-plan-tomorrow = Tomorrow 10:00
callback-overdue = ⚠️ Callback overdue!
callback-escalation = ⚠️ { $owner } has not called the client back in time.

## Calls
call-in = incoming
call-out = outgoing
call-status-ringing = ringing
call-status-answered = answered
call-status-missed = missed
call-status-busy = busy
call-status-failed = failed
outcome-reached = Reached
outcome-no_answer = No answer
outcome-callback = Call back
outcome-wrong_number = Wrong number
outcome-interested = Interested
outcome-not_interested = Not interested
outcome-deal = Deal
outcome-other = Other
outcome-saved = Outcome: { $outcome }
incoming-known = 📲 <b>Incoming call</b>
incoming-unknown = 📲 <b>Incoming call</b>: unknown number { $phone }
postcall = Call ended ({ $minutes }:{ $seconds }): { $who }. Outcome?
postcall-outcome = Outcome: { $outcome }
unknown-caller = unknown number
missed = 📵 Missed call: { $who }
missed-due = Call back by { $when }

## Deals
ask-deal-title = Deal title for { $name }:
deal-created = 💼 Deal created.
deal-stage = Stage: { $stage }
deal-amount = Amount: { $amount }
deal-lost-reason = Reason: { $reason }
btn-won = 🏆 Won
btn-lost = ✖️ Lost
ask-won-amount = Amount of “{ $title }”?
ask-lost-reason = Why was “{ $title }” lost?
deal-won = 🏆 Deal won!
deal-lost = Deal closed as lost.
deals-none = No open deals.
deals-mine = My open deals: { $count }

## Greetings
greet-today = Worth greeting today: { $count }
occasion-birthday = birthday
occasion-new_year = New Year
occasion-defender_day = Defender of the Fatherland Day
occasion-womens_day = International Women's Day
occasion-spring_labour_day = Spring and Labour Day
occasion-victory_day = Victory Day
occasion-russia_day = Russia Day
occasion-unity_day = Unity Day
occasion-holiday = holiday

## Input errors by field
invalid-amount = The amount is a number, e.g. 150000 or 99900.50.
invalid-email = That does not look like an e-mail address.
invalid-phone = I cannot read that number. Example: +7 916 123-45-67.
invalid-name = The name cannot be empty (or longer than 300 characters).
invalid-extension = An extension is digits or a login without spaces.
invalid-text = The text is empty or too long (up to 10,000 characters).
invalid-title = The title cannot be empty.
invalid-lost_reason = Please give a reason.
button-stale = This button is out of date.

## Managers: digests, reports, spreadsheets
managers-only = This is for managers and admins. Ask your manager if you need the digest.
digest-daily = Daily
digest-weekly = Weekly
digest-monthly = Monthly
digest-none = You are not subscribed to the sales digest.
digest-list = Your digests (time zone { $zone }):
digest-item = { $period } at { $hour }:00
digest-usage = Subscribe: /digest daily|weekly|monthly [hour], e.g. <code>/digest weekly 8</code>; /digest off to stop.
digest-subscribed = ✅ Digest: { $period } at { $hour }:00, for the period just ended.
digest-off = { $count ->
    [0] You had no subscriptions.
    [one] Stopped { $count } digest.
   *[other] Stopped { $count } digests.
}
btn-digest-off = 🔕 Stop all
report-which = The sales digest for which period?
report-yesterday = Yesterday
report-this_week = This week
report-last_week = Last week
report-this_month = This month
report-last_month = Last month
import-managers-only = Importing contacts from spreadsheets is for managers and admins.
import-too-large = The file is too large: { $size } MB, the limit is { $limit } MB. Split it into parts.
import-refused = I cannot import “{ $name }”: { $reason }
import-preview = 📥 “{ $name }”: { $total } rows. If applied:
import-counts = New: { $new } · updated: { $updated } · duplicates: { $duplicate } · rejected: { $rejected }
import-policy = When a contact exists: { $policy }
policy-skip = skip
policy-fill = fill empty fields
policy-overwrite = overwrite
btn-import-apply = ✅ Apply
btn-import-cancel = ✖️ Cancel
import-done = ✅ “{ $name }” imported.
import-again = “{ $name }” was already imported with this policy — nothing changed.
import-canceled = Import canceled, nothing changed.
import-rejected-file = Rejected rows ({ $count }): the “Problem” column says what is wrong in which cell.
export-empty = You cannot see any contacts yet.
export-done = Contacts: { $count }
# Imports run as background jobs (issue 15): the answer comes when the job is done.
import-checking = ⏳ Checking “{ $name }”… I will write when it is done.
import-rechecking = ⏳ Checking “{ $name }” again: when a contact exists — { $policy }. I will write when it is done.
import-applying = ⏳ Importing “{ $name }”… I will write when it is done.
import-failed = 😔 Sorry, something went wrong with “{ $name }”. Send the file again a bit later; if that fails too, tell your admin (job { $job }).

# --- consent: a client's "stop" is final (issue 15); client replies (issue 21 §10) ---
client-link-dead = This link no longer works. Please ask your manager for a new one.
client-link-subscribed = You are already subscribed to our greetings. To unsubscribe: /stop
client-stopped-final = You have unsubscribed from greetings, and we will not send them here any more. Your link no longer works; if you change your mind, ask your manager for a new one.
client-no-messages = This button is not available here. Write your question as a message — a manager will answer.

## Team: roles with confirmation, the managers' view, joining, hand-overs (issue 21: 1, 8, 10)
team-workload = open { $open } · overdue { $overdue } · today { $today }
team-person-work = Tasks: { $open } open, { $overdue } overdue, { $today } due today.
btn-team-contacts = 👥 Contacts
btn-team-tasks = 📋 Tasks
btn-team-deals = 💼 Deals
btn-activate = ✅ Reactivate
btn-confirm = ✅ Yes, confirm
btn-keep = ✖️ No, keep it
btn-undo = ↩️ Undo
team-confirm-role = Change the role? { $name }: { $from } → { $to }.
team-confirm-role-self = You are changing your own role: { $from } → { $to }. After this you can no longer change roles, extensions or access, and only another admin can give your role back. Continue?
team-confirm-off = Deactivate { $name }? The bot stops answering them and no new calls or tasks are routed to them. You can reactivate them here, in /team.
team-confirm-on = Reactivate { $name }? Role: { $role }.
team-role-changed = Role changed: { $name } — { $from } → { $to }.
team-turned-off = Deactivated: { $name }. Undo with the button below or in /team.
team-turned-on = Reactivated: { $name }.
team-last-admin = Not possible: { $name } is the only active admin, and the team would have nobody to manage it. Make someone else an admin first.
team-admin-only = Only an admin changes roles, extensions and access.
team-contacts-of = Contacts of { $name }: { $count }.
team-contacts-none = { $name } has no contacts.
team-tasks-of = Tasks of { $name }
team-deals-of = Open deals of { $name }: { $count }.
team-deals-none = { $name } has no open deals.
invite-made-until = Invite ({ $role }) is ready, valid until { $until }.
    Link: { $link }
    Or the code: <code>/start { $code }</code>
invite-unknown-role = I don't know the role “{ $role }”. Use: sales, manager or admin. For example: /invite sales
user-joined = 👋 New on the team: { $name }, role: { $role }.
owner-changed-to-you = 📥 { $client } is your client now. Handed over by { $by }.
owner-changed-from-you = 📤 { $client } was handed over to { $to }.
btn-esc-remind = 🔔 Remind the salesperson
btn-esc-reassign = 🔀 Give to someone else
btn-esc-take = 🙋 Take it myself
esc-reminded = Reminder sent to { $name }.
esc-pick = Who should call back?
esc-reassigned = The callback now belongs to { $name }.
callback-nudge = 🔔 Your manager { $manager } asks you to call the client back now.
callback-assigned-to-you = 📥 A callback was handed to you by { $by }.
callback-assigned-away = 📤 The callback was handed over to { $to }.
menu-role-team = Team: everyone's tasks, clients and deals
menu-role-invite = Invite a teammate
help-role-sales =
    Type a name, company, e-mail or phone and I will find the contact.
    Reply to a contact card to add a note.
    Share a Telegram contact to create or open it.
    /today — today's tasks, /week — this week, /deals — my deals, /lang — language.
    /export — my contacts as an Excel file.
    /targets — my plan for the month.
help-role-manager =
    Managers: /report — the sales digest for a period, /digest — the digest on a schedule;
    send an .xlsx or .csv file to import contacts (you see what changes first);
    /targets — the team's monthly plans, <code>/targets set 2026-12 #ID won_amount=500000 deals_won=5 calls_out=300</code> — set targets.
    /team — who has how many open, overdue and today's tasks; everyone's contacts, tasks and deals.
help-role-admin = /invite sales | manager | admin — invite a teammate. In /team: roles, extensions, deactivating and reactivating. /clienttext — what the bot says to clients (welcome, out-of-hours reply, flood notice).

## Errors by code (core.errors: code → err-<code>); no English detail ever reaches a user
error-conflict-generic = This has changed or is taken already. Refresh the screen and try again.
error-invalid-generic = That did not work: check what you entered and try again.
err-admin-only = { error-forbidden }
err-manager-only = { error-forbidden }
err-digest-manager-only = { error-forbidden }
err-import-manager-only = Managers and admins can import contacts.
err-plan-manager-only = Only a manager can plan work for someone else.
err-assign-manager-only = Only a manager can give this to someone else.
err-delete-owner-only = Only the owner or a manager can delete a contact.
err-merge-owner-only = Only the owner or a manager can merge this contact.
err-role-unknown = There is no such role. Use: sales, manager, admin.
err-last-admin = { $name } is the only admin. Make someone else an admin first.
err-deactivate-self = You cannot disable your own access.
err-timezone-unknown = I do not know the time zone { $zone }.
err-invite-not-found = { error-not-found }
err-invite-used = This invite has been used already. Ask an admin for a new one.
err-invite-expired = This invite has expired. Ask an admin for a new one.
err-already-a-user = This Telegram account is on the team already.
err-extension-invalid = { invalid-extension }
err-extension-taken = Extension { $extension } belongs to someone else.
err-user-not-found = No such team member.
err-owner-inactive = This person is disabled — pick someone else.
err-no-owner = This task has nobody responsible.
err-contact-not-found = { error-not-found }
err-deal-not-found = { error-not-found }
err-company-not-found = Company not found.
err-company-exists = The company “{ $name }” exists already.
err-name-empty = { invalid-name }
err-name-too-long = { invalid-name }
err-email-invalid = { invalid-email }
err-phone-is-extension = That is a team member's extension, not a client's phone.
err-phone-taken = The number { $phone } belongs to another contact.
err-merge-self = A contact cannot be merged with itself.
err-try-again = This number is being changed right now. Try again.
err-title-empty = { invalid-title }
err-stage-unknown = There is no such stage.
err-amount-invalid = { invalid-amount }
err-amount-range = The amount must be between 0 and 10 trillion.
err-won-needs-amount = A won deal needs an amount.
err-lost-needs-reason = A lost deal needs a reason.
err-deal-closed = The deal is closed — its stage no longer changes.
err-snooze-range = You can snooze for a minute up to 30 days.
err-note-empty = { invalid-text }
err-note-too-long = { invalid-text }
err-outcome-unknown = There is no such call outcome.
err-consent-stopped = The client unsubscribed. Only the client can subscribe again, through a new link from the bot.
err-import-clash = Data changed while the import ran. Run the import again.
err-hour-range = The hour is a number from 0 to 23.
err-date-invalid = I cannot read the date. Example: 2026-12-01.
err-period-order = The period must end after it starts.
err-period-too-long = The period is too long: { $days } days at most.

## Words a user types (parsed, not shown): comma-separated
words-skip = -, —, skip, no, none
btn-task-rename = ✏️ Rename
btn-task-delete = 🗑 Delete
btn-task-delete-yes = 🗑 Yes, delete
task-delete-ask = Delete this task? It will not count as done.
task-deleted = Task deleted.
task-rename-ask = New title for “{ $title }”:
task-renamed = ✏️ Renamed.
snoozed-head = ⏰ Reminding at { $when }.
next-step-ask = What next? When is the next step — e.g. “tomorrow 3pm”, “friday 10am”, “in 2 hours” — or tap a button. Not needed — “Cancel”.
plan-ambiguous = { $early } or { $late }?
btn-note-edit = ✏️ Edit
btn-note-delete = 🗑 Delete
btn-note-delete-yes = 🗑 Yes, delete
btn-note-file = 📎 Get the file
note-delete-ask = Delete the note?
note-deleted = Note deleted.
note-edit-ask = The note's new text:
note-edited = ✏️ Note edited.
note-followed-edit = ✏️ The note follows the edited message.
note-voice = 🎤 Voice message
note-photo = 🖼 Photo

## Import preview: which contacts change (roundtrip)
import-unchanged = Unchanged (already so): { $count }
import-change = • row { $row }, contact #{ $id }: { $fields }
import-changes-more = • and { $count } more updated
import-field-name = name
import-field-phones = phones
import-field-timezone = time zone
import-field-owner = owner
import-field-email = email
import-field-birthday = birthday
import-field-source = source
import-field-tags = tags
import-field-company = company
import-field-comment = note
## One live call message (issue 21, defect 6)
callback-task-title = Call back: { $name }
outgoing-known = 📤 <b>Outgoing call</b>
outgoing-unknown = 📤 <b>Outgoing call</b>: number { $phone }
call-rings-at = ☎️ Ringing at: { $name }
call-live-answered = ✅ In progress
call-live-answered-by = ✅ In progress: { $name }
call-live-ended = ☑️ Call ended, { $minutes }:{ $seconds }
call-live-missed = 📵 Missed call
call-live-unanswered = 📵 Not answered
call-live-failed = 📵 The call did not go through: { $status }
missed-repeat = 🔁 Missed { $count } { $count ->
    [one] time
   *[other] times
}, the last at { $time }

## Monthly targets (/targets)
targets-usage = Monthly plan: /targets [2026-12] to read it. Managers: <code>/targets set 2026-12 #ID amount=500000 deals=5 calls=300</code> (@username or a name instead of #ID; 0 removes a target).
targets-none = No targets for { $month }.
targets-title = <b>Plan for { $month }</b>
targets-person = { $name }: { $items }
targets-won_amount = amount { $value }
targets-deals_won = deals { $value }
targets-calls_out = outbound calls { $value }
targets-saved = ✅ Targets saved.
targets-word-won_amount = amount
targets-word-deals_won = deals
targets-word-calls_out = calls
err-targets-manager-only = { error-forbidden }
err-month-invalid = I cannot read the month “{ $text }”. Example: 2026-12.
err-target-value-invalid = “{ $text }” is not a target: a number from 0 (0 removes it).
err-target-metric-invalid = There is no target “{ $metric }”. There are: amount, deals, calls.
err-target-none = Give at least one target, e.g. calls=300.
err-user-ambiguous = Several team members are named “{ $name }”: write #ID.
## Documents on cards
btn-documents = 📎 Documents ({ $count })
btn-documents-back = ↩️ Back to the card
documents-title = 📎 Documents: { $card } ({ $count })
documents-none = None yet. Send a file or a photo in reply to the card and it is kept here.
document-saved = 📎 Saved to «{ $card }»: { $name } ({ $type }, { $size })
document-renamed = ⚠️ The name said .{ $given } but it is { $type }: saved as { $name }
document-too-large = The file is too large: { $size } MB, the limit is { $limit } MB.
document-too-big-for-bot-api = The file is too large for the bot: { $size } MB, and Telegram lets bots download 20 MB at most. Upload it through the REST API, or ask the admin to run a Bot API server of their own.
document-no-card = To keep a file, send it in reply to a client's or a deal's card (or open the card with a button, then send the file).
document-caption = { $name } · { $when }
document-kind = { $kind ->
    [pdf] PDF
    [docx] a Word document
    [xlsx] a spreadsheet
    [csv] a CSV table
    [odt] an ODT document
    [text] text
    [email] an e-mail
    [image] an image
   *[other] a file
}
err-document-too-large = The file is larger than { $limit } MB; it was not kept.
err-document-duplicate = This file is already on the card: { $name }.
err-document-key-reused = This retry key was already used for another file.
document-download-failed = Telegram did not give me the file. Please send it again.
document-size-kb = { $size } KB
document-size-mb = { $size } MB
err-document-file-missing = The file is missing from storage: tell the admin (the documents folder was lost or is not shared).
## Client chats in the company bot (issue 17)
client-share-phone = 📱 Share my phone number
client-phone-thanks = Thank you! We have your number.
client-relay-header = 💬 <b>{ $name }</b>:
client-kind-album = (album)
client-kind-video_note = (video message)
client-kind-sticker = (sticker)
client-kind-location = (location)
client-kind-contact = (contact)
client-kind-other = (message)
client-forwarded = (forwarded)
client-blocked-bot = { $name } blocked the bot: your messages no longer reach them. When they write again, the chat opens again.
client-reply-unsupported = This kind of message cannot be sent to the client.
client-write-prompt = Write the message for { $name } (text, photo, file, voice…):
client-write-sent = Sent to the client.
btn-client-card = 👤 { $name }
client-reply-which = This message shows several clients. Whom is your answer for?
client-reply-sent-to = Answer sent to { $name }.
client-blocked = The client is blocked: their messages are no longer accepted.
client-unblocked = The client can write again.
btn-write-client = ✉️ Write to client
btn-block-client = 🚫 Block / unblock
reply-task-title = Reply to the client: { $name }
err-client-not-in-bot = This client has not written to the bot yet.
err-client-unreachable = The client blocked the bot; they must write first.
err-client-blocked = An admin blocked this client.
err-message-empty = The message is empty.
err-text-too-long = The text is too long (at most 1000 characters).
client-start-id = <i>Your Telegram id: <code>{ $id }</code></i>
client-text-usage = Texts the bot sends to clients. To change one: <code>/clienttext welcome|auto_reply|flood ru|en new text</code>; without a text it goes back to the built-in one.
client-text-current = <b>{ $name } ({ $language })</b>: { $text }
client-text-saved = Saved. Clients will now read: { $text }

## Find documents by content (/find)
menu-find = Find a document by its content
find-hint = Type words of a document or its name after /find, e.g. /find supply contract. Any word form works; put an exact phrase in quotes.
find-too-long = The query is too long: at most { $limit } characters.
find-nothing = No documents with «{ $query }».
find-title = 🔎 Documents for «{ $query }»: { $count }
find-item = { $number }. { $icon } <b>{ $name }</b> · { $contact } · { $date }
find-no-contact = no client
find-expired = This search has expired — run /find again.
err-search-too-many-words = Too many words in the query: keep the important ones.
err-bad-kind = There is no such document type.
err-bad-limit = { error-not-found }
err-bad-offset = { error-not-found }
err-bad-range = The period must start before it ends.
err-import-not-a-folder = This is not a folder.
