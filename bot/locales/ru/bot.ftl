## Perezvon bot, Russian. Plurals: one (1, 21), few (2-4, 22-24), many (5-20, 25…).

lang-name = 🇷🇺 Русский
lang-which = Выберите язык:
lang-set = Язык: русский.

## Menu (setMyCommands)
menu-today = Дела на сегодня
menu-week = Дела на неделю
menu-deals = Мои сделки
menu-export = Выгрузить контакты в Excel
menu-report = Сводка продаж (руководители)
menu-digest = Подписка на сводку (руководители)
menu-team = Команда (админ)
menu-invite = Пригласить сотрудника (админ)
menu-targets = План продаж на месяц
menu-lang = Язык
menu-help = Помощь

## Reply keyboard
kb-today = 📅 Сегодня
kb-new-contact = ➕ Новый контакт
kb-my-deals = 💼 Мои сделки

## Access
private-only = Я работаю только в личных сообщениях. Напишите мне в личку.
refused-inactive = Доступ отключён. Ваш Telegram id: <code>{ $id }</code>. Обратитесь к администратору.
first-admin-how = Здравствуйте! В Perezvon ещё нет ни одного сотрудника, поэтому первого администратора создают на сервере: выполните там <code>perezvon users invite --role admin</code> и откройте ссылку из ответа (или пришлите сюда <code>/start код</code>). Потом вы сами пригласите остальных командой /invite. Ваш Telegram id: <code>{ $id }</code>.
invite-already-member = { $name }, вы уже в команде (роль: { $role }), поэтому приглашение ничего не изменило. Роль меняет администратор в /team или на сервере: <code>perezvon users set-role --telegram-id ID --role admin</code>.
joined = Добро пожаловать, { $name }! Ваша роль: { $role }. Напишите имя, компанию или телефон — я найду контакт.
welcome-back = С возвращением, { $name }! Напишите имя, компанию или телефон для поиска.
help =
    Напишите имя, компанию, e-mail или телефон — я найду контакт.
    Ответьте на карточку контакта — это будет заметка.
    Пришлите контакт из Telegram — создам или открою карточку.
    /today — дела на сегодня, /week — на неделю, /deals — мои сделки, /lang — язык.
    /export — мои контакты в Excel.
    Руководителям: /report — сводка продаж за период, /digest — сводка по расписанию;
    пришлите файл .xlsx или .csv — импортирую контакты (сначала покажу, что изменится).
unknown-command = Не знаю такую команду. /help — что я умею.
not-text = Я понимаю текст, контакты и кнопки. Файлы и стикеры не сохраняю.

## Invites
invite-no-link = (имя бота неизвестно — отправьте код)
ask-extension = Пришлите внутренний номер (или несколько через пробел).
extension-set = Номера привязаны: { $name }.

## Roles and team
role-admin = администратор
role-manager = руководитель
role-sales = продавец
team-title = Команда: { $count ->
    [one] { $count } человек
    [few] { $count } человека
   *[many] { $count } человек
}
team-inactive = отключён
btn-extension = ☎️ Привязать номер
btn-deactivate = ⛔ Отключить

## Errors
error-not-found = Не найдено или уже недоступно.
error-forbidden = Это действие вам недоступно.
error-finished = Уже завершено.
error-unexpected = Что-то пошло не так, попробуйте ещё раз.

## Search
search-hint = Напишите имя, компанию, e-mail или телефон для поиска.
search-too-long = Слишком длинный запрос (не больше { $limit } символов).
search-none = Ничего не найдено по «{ $query }».
search-layout-swapped = 🔤 Похоже, раскладка была английской: ищу «{ $query }».
search-found = Найдено { $count ->
    [one] { $count } контакт
    [few] { $count } контакта
   *[many] { $count } контактов
} по «{ $query }» (стр. { $page }):
search-found-many = Найдено больше { $count } контактов по «{ $query }» — уточните запрос (стр. { $page }):
search-expired = Поиск устарел — напишите запрос заново.
btn-create-with-phone = ➕ Создать контакт { $phone }

## Contacts
btn-cancel = ✖️ Отмена
dialog-canceled = Отменено.
dialog-nothing-to-cancel = Отменять нечего.
dialog-drop-ask = Вы не закончили ввод. Бросить его?
btn-dialog-drop = Бросить
btn-dialog-keep = Продолжить ввод
dialog-dropped = Ввод брошен — нажмите кнопку меню ещё раз.
dialog-kept = Продолжайте: бот ждёт ваш ответ.
ask-contact-name = Как зовут контакт? Компанию можно добавить через запятую: «Иван Петров, ООО Вектор».
ask-contact-name-for = Как зовут контакт с номером { $phone }?
ask-contact-phone = Телефон контакта? (или «-», чтобы пропустить)
contact-created = ✅ Контакт создан.
contact-updated = ✅ Сохранено.
phone-taken = Этот номер уже есть у контакта:
phone-taken-hidden = Этот номер уже принадлежит контакту другого сотрудника.
card-owner = Ответственный: { $owner }
card-no-owner = не назначен
card-last = Последний контакт: { $when }
card-next = ⏰ Следующее: { $when } · { $title }
card-consent = 💌 Согласен на поздравления
btn-note = 📝 Заметка
btn-plan = ⏰ Запланировать
btn-timeline = 🕓 История
btn-calls = 📞 Звонки
btn-deal = 💼 Сделка
btn-edit = ✏️ Изменить
btn-owner = 👤 Ответственный
btn-invite-client = 💌 Пригласить клиента
btn-card = 👤 Карточка
btn-back = ◀️ Назад
btn-create = ➕ Создать контакт
ask-note = 📝 { $name }: напишите заметку.
note-added = 📝 Заметка добавлена.
colleague-note =
    📝 Заметка по вашему клиенту: <b>{ $client }</b>
    Автор: { $author }
    { $text }
timeline-title = История: { $count ->
    [one] { $count } запись
    [few] { $count } записи
   *[many] { $count } записей
}
timeline-empty = Пока пусто.
calls-title = Звонки:
calls-empty = Звонков не было.
edit-which = Что изменить?
field-name = Имя
field-company = Компания
field-email = E-mail
field-phone = Добавить телефон
ask-field-name = Новое имя:
ask-field-company = Компания:
ask-field-email = E-mail:
ask-field-phone = Телефон:
owner-which = Кому передать контакт?
client-invite-link = Отправьте клиенту эту ссылку — он сможет получать поздравления:
    { $link }
client-invite-code = Имя бота неизвестно. Клиент может отправить боту: <code>{ $code }</code>
client-welcome = Спасибо! Вы будете получать от нас поздравления. Отписаться: /stop
client-stop-nothing = Вы не подписаны.
stop-nothing = Нечего отключать.

## Activities
status-planned = запланировано
status-done = выполнено
status-canceled = отменено
activity-due = Срок: { $when }
activity-late = ⚠️ Просрочено
activity-closed = Статус: { $status }
btn-done = ✅ Готово
btn-snooze-15 = 15 мин
btn-snooze-60 = 1 час
btn-snooze-tomorrow = Завтра 9:00
btn-reschedule = 📅 Перенести
done-ok = Готово!
snoozed-short = Напомню { $when }
rescheduled = 📅 Перенесено на { $when }.
today-title = Сегодня
week-title = На неделю
agenda-overdue = ⚠️ Просрочено: { $count }
agenda-planned = Запланировано: { $count }
agenda-empty = Дел нет 🎉
plan-ask = Когда? Напишите, например: «завтра в 15», «в пятницу в 10», «через 2 часа», «25.12 14:30» — или нажмите кнопку.
plan-unclear = Не понял время. Примеры: «завтра в 15», «в пятницу в 10», «в понедельник утром», «через 2 часа», «25.12 14:30». Утро — 9:00, день — 13:00, вечер — 18:00.
day-and-time = { $weekday }, { $day } { $month }, { $time }
weekday-1 = пн
weekday-2 = вт
weekday-3 = ср
weekday-4 = чт
weekday-5 = пт
weekday-6 = сб
weekday-7 = вс
month-of-1 = января
month-of-2 = февраля
month-of-3 = марта
month-of-4 = апреля
month-of-5 = мая
month-of-6 = июня
month-of-7 = июля
month-of-8 = августа
month-of-9 = сентября
month-of-10 = октября
month-of-11 = ноября
month-of-12 = декабря
plan-no-such-date = Даты «{ $written }» нет в календаре. Напишите, например: «25.12 14:30», «в понедельник утром», «завтра в 15».
plan-done = ⏰ Запланировано: { $title } — { $when }
plan-default-title = Позвонить: { $name }
plan-default-task = Задача
plan-expired = Эта кнопка устарела.
btn-plan-in-1h = Через час
btn-plan-in-3h = Через 3 часа
btn-plan-tomorrow = Завтра 10:00
callback-overdue = ⚠️ Перезвон просрочен!
callback-escalation = ⚠️ { $owner } не перезвонил(а) клиенту вовремя.

## Calls
call-in = входящий
call-out = исходящий
call-status-ringing = звонит
call-status-answered = отвечен
call-status-missed = пропущен
call-status-busy = занято
call-status-failed = не прошёл
outcome-reached = Дозвонился
outcome-no_answer = Не ответил
outcome-callback = Перезвонить
outcome-wrong_number = Не туда
outcome-interested = Интересно
outcome-not_interested = Не интересно
outcome-deal = Сделка
outcome-other = Другое
outcome-saved = Итог: { $outcome }
incoming-known = 📲 <b>Входящий звонок</b>
incoming-unknown = 📲 <b>Входящий звонок</b>: неизвестный номер { $phone }
postcall = Звонок завершён ({ $minutes }:{ $seconds }): { $who }. Итог?
postcall-outcome = Итог: { $outcome }
unknown-caller = неизвестный номер
missed = 📵 Пропущенный звонок: { $who }
missed-due = Перезвонить до { $when }

## Deals
ask-deal-title = { $name }: как назвать сделку?
deal-created = 💼 Сделка создана.
deal-stage = Этап: { $stage }
deal-amount = Сумма: { $amount }
deal-lost-reason = Причина: { $reason }
btn-won = 🏆 Выиграна
btn-lost = ✖️ Проиграна
ask-won-amount = Сумма сделки «{ $title }»?
ask-lost-reason = Почему проиграна «{ $title }»?
deal-won = 🏆 Сделка выиграна!
deal-lost = Сделка закрыта как проигранная.
deals-none = Открытых сделок нет.
deals-mine = Мои открытые сделки: { $count }

## Greetings
greet-today = Сегодня стоит поздравить: { $count }
occasion-birthday = день рождения
occasion-new_year = Новый год
occasion-defender_day = День защитника Отечества
occasion-womens_day = 8 Марта
occasion-spring_labour_day = Праздник Весны и Труда
occasion-victory_day = День Победы
occasion-russia_day = День России
occasion-unity_day = День народного единства
occasion-holiday = праздник

## Input errors by field
invalid-amount = Сумма — это число, например 150000 или 99 900,50.
invalid-email = Это не похоже на e-mail.
invalid-phone = Не могу прочитать номер. Пример: +7 916 123-45-67 или 8 916 123 45 67.
invalid-name = Имя не может быть пустым (и не длиннее 300 символов).
invalid-extension = Внутренний номер — это цифры или логин без пробелов.
invalid-text = Текст пустой или слишком длинный (до 10 000 символов).
invalid-title = Название не может быть пустым.
invalid-lost_reason = Напишите причину.
button-stale = Эта кнопка устарела.

## Managers: digests, reports, spreadsheets
managers-only = Это для руководителей и администраторов. Спросите руководителя, если нужна сводка.
digest-daily = Ежедневно
digest-weekly = Еженедельно
digest-monthly = Ежемесячно
digest-none = Вы не подписаны на сводку продаж.
digest-list = Ваши сводки (время — { $zone }):
digest-item = { $period } в { $hour }:00
digest-usage = Подписка: /digest daily|weekly|monthly [час], например <code>/digest weekly 8</code>; /digest off — отписаться.
digest-subscribed = ✅ Сводка: { $period } в { $hour }:00 — за прошедший период.
digest-off = { $count ->
    [0] Подписок не было.
    [one] Отписал от { $count } сводки.
   *[other] Отписал от { $count } сводок.
}
btn-digest-off = 🔕 Отписаться от всех
report-which = Сводка продаж за какой период?
report-yesterday = Вчера
report-this_week = Эта неделя
report-last_week = Прошлая неделя
report-this_month = Этот месяц
report-last_month = Прошлый месяц
import-managers-only = Импорт контактов из таблиц — для руководителей и администраторов.
import-too-large = Файл слишком большой: { $size } МБ, можно до { $limit } МБ. Разбейте его на части.
import-refused = Не могу импортировать «{ $name }»: { $reason }
import-preview = 📥 «{ $name }»: строк { $total }. Если применить:
import-counts = Новых: { $new } · обновится: { $updated } · дублей: { $duplicate } · отклонено: { $rejected }
import-policy = Если контакт уже есть: { $policy }
policy-skip = пропустить
policy-fill = дополнить пустые поля
policy-overwrite = перезаписать
btn-import-apply = ✅ Применить
btn-import-cancel = ✖️ Отмена
import-done = ✅ Импорт «{ $name }» выполнен.
import-again = Файл «{ $name }» уже импортирован с этим правилом — ничего не изменилось.
import-canceled = Импорт отменён, ничего не изменено.
import-rejected-file = Отклонённые строки ({ $count }): в столбце «Ошибка» — что не так и в какой ячейке.
export-empty = Вам пока не видно ни одного контакта.
export-done = Контактов: { $count }
# Imports run as background jobs (issue 15): the answer comes when the job is done.
import-checking = ⏳ Проверяю «{ $name }»… Напишу, когда будет готово.
import-rechecking = ⏳ Проверяю «{ $name }» заново: если контакт уже есть — { $policy }. Напишу, когда будет готово.
import-applying = ⏳ Импортирую «{ $name }»… Напишу, когда закончу.
import-failed = 😔 Не получилось обработать «{ $name }» — простите. Отправьте файл ещё раз чуть позже; если не выйдет, сообщите администратору (задача { $job }).

# --- consent: a client's "stop" is final (issue 15); client replies (issue 21 §10) ---
client-link-dead = Эта ссылка больше не действует. Попросите у вашего менеджера новую.
client-link-subscribed = Вы уже подписаны на наши поздравления. Отписаться: /stop
client-stopped-final = Вы отписались от поздравлений — сюда мы их больше не пришлём. Ваша ссылка больше не действует; если передумаете, попросите у вашего менеджера новую.
client-no-messages = Эта кнопка здесь недоступна. Напишите вопрос сообщением — менеджер ответит.

## Team: roles with confirmation, the managers' view, joining, hand-overs (issue 21: 1, 8, 10)
team-workload = открыто { $open } · просрочено { $overdue } · сегодня { $today }
team-person-work = Дела: открыто { $open }, просрочено { $overdue }, на сегодня { $today }.
btn-team-contacts = 👥 Контакты
btn-team-tasks = 📋 Дела
btn-team-deals = 💼 Сделки
btn-activate = ✅ Включить
btn-confirm = ✅ Да, подтверждаю
btn-keep = ✖️ Нет, оставить
btn-undo = ↩️ Вернуть как было
team-confirm-role = Сменить роль? { $name }: { $from } → { $to }.
team-confirm-role-self = Вы меняете свою роль: { $from } → { $to }. После этого вы не сможете менять роли, номера и доступ сотрудников, а вернуть вам роль сможет только другой администратор. Продолжить?
team-confirm-off = Отключить доступ: { $name }? Бот перестанет отвечать этому человеку, новые звонки и задачи не будут ему назначаться. Включить снова можно здесь же, в /team.
team-confirm-on = Включить доступ снова: { $name }? Роль: { $role }.
team-role-changed = Роль изменена: { $name } — { $from } → { $to }.
team-turned-off = Доступ отключён: { $name }. Вернуть — кнопкой ниже или в /team.
team-turned-on = Доступ снова включён: { $name }.
team-last-admin = Нельзя: { $name } — единственный активный администратор, без него командой некому управлять. Сначала сделайте администратором кого-то ещё.
team-admin-only = Роли, номера и доступ сотрудников меняет только администратор.
team-contacts-of = Контакты: { $name } — { $count }.
team-contacts-none = Контактов нет: { $name }.
team-tasks-of = Дела: { $name }
team-deals-of = Открытые сделки: { $name } — { $count }.
team-deals-none = Открытых сделок нет: { $name }.
invite-made-until = Приглашение ({ $role }) готово, действует до { $until }.
    Ссылка: { $link }
    Или код: <code>/start { $code }</code>
invite-unknown-role = Не знаю роль «{ $role }». Можно: продавец (sales), руководитель (manager), администратор (admin). Например: /invite продавец
user-joined = 👋 В команде новый человек: { $name }, роль: { $role }.
owner-changed-to-you = 📥 Теперь это ваш клиент: { $client }. Кто передал: { $by }.
owner-changed-from-you = 📤 Клиент { $client } передан другому сотруднику: { $to }.
btn-esc-remind = 🔔 Напомнить продавцу
btn-esc-reassign = 🔀 Передать другому
btn-esc-take = 🙋 Взять себе
esc-reminded = Напоминание отправлено: { $name }.
esc-pick = Кому передать перезвон?
esc-reassigned = Перезвон передан: { $name }.
callback-nudge = 🔔 Руководитель просит перезвонить клиенту сейчас. Кто просит: { $manager }.
callback-assigned-to-you = 📥 Вам передан перезвон клиенту. Кто передал: { $by }.
callback-assigned-away = 📤 Перезвон передан другому сотруднику: { $to }.
menu-role-team = Команда: дела, клиенты и сделки каждого
menu-role-invite = Пригласить сотрудника
help-role-sales =
    Напишите имя, компанию, e-mail или телефон — я найду контакт.
    Ответьте на карточку контакта — это будет заметка.
    Пришлите контакт из Telegram — создам или открою карточку.
    /today — дела на сегодня, /week — на неделю, /deals — мои сделки, /lang — язык.
    /export — мои контакты в Excel.
    /targets — мой план на месяц.
help-role-manager =
    Руководителям: /report — сводка продаж за период, /digest — сводка по расписанию;
    пришлите файл .xlsx или .csv — импортирую контакты (сначала покажу, что изменится);
    /targets — планы команды на месяц, <code>/targets set 2026-12 #ID сумма=500000 сделки=5 звонки=300</code> — задать цели.
    /team — команда: у кого сколько дел, просрочек и дел на сегодня; контакты, дела и сделки каждого.
help-role-admin = /invite продавец | руководитель | администратор — пригласить сотрудника. В /team — роли, номера, отключение и включение доступа. /clienttext — что бот пишет клиентам (приветствие, ответ в нерабочее время, просьба не торопиться).

## Errors by code (core.errors: code → err-<code>); no English detail ever reaches a user
error-conflict-generic = Это уже изменилось или занято. Обновите экран и попробуйте ещё раз.
error-invalid-generic = Не получилось: проверьте введённое и попробуйте ещё раз.
err-admin-only = { error-forbidden }
err-manager-only = { error-forbidden }
err-digest-manager-only = { error-forbidden }
err-import-manager-only = Импортировать контакты могут руководители и администраторы.
err-plan-manager-only = Ставить дела другим может только руководитель.
err-assign-manager-only = Передать другому сотруднику может только руководитель.
err-delete-owner-only = Удалить контакт может его владелец или руководитель.
err-merge-owner-only = Объединить контакт может его владелец или руководитель.
err-role-unknown = Такой роли нет. Можно: продавец, руководитель, администратор.
err-last-admin = { $name } — единственный администратор. Сначала назначьте другого администратора.
err-deactivate-self = Себе доступ отключить нельзя.
err-timezone-unknown = Не знаю такой часовой пояс: { $zone }.
err-invite-not-found = { error-not-found }
err-invite-used = Это приглашение уже использовано. Попросите у администратора новое.
err-invite-expired = Срок приглашения истёк. Попросите у администратора новое.
err-already-a-user = Этот аккаунт Telegram уже есть в команде.
err-extension-invalid = { invalid-extension }
err-extension-taken = Номер { $extension } уже закреплён за другим сотрудником.
err-user-not-found = Сотрудник не найден.
err-owner-inactive = Этот сотрудник отключён — выберите другого.
err-no-owner = У этого дела нет ответственного.
err-contact-not-found = { error-not-found }
err-deal-not-found = { error-not-found }
err-company-not-found = Компания не найдена.
err-company-exists = Компания «{ $name }» уже есть.
err-name-empty = { invalid-name }
err-name-too-long = { invalid-name }
err-email-invalid = { invalid-email }
err-phone-is-extension = Это внутренний номер сотрудника, а не телефон клиента.
err-phone-taken = Номер { $phone } уже есть у другого контакта.
err-merge-self = Контакт нельзя объединить с самим собой.
err-try-again = Этот номер как раз меняют. Попробуйте ещё раз.
err-title-empty = { invalid-title }
err-stage-unknown = Такого этапа нет.
err-amount-invalid = { invalid-amount }
err-amount-range = Сумма должна быть от 0 до 10 триллионов.
err-won-needs-amount = Для выигранной сделки нужна сумма.
err-lost-needs-reason = Для проигранной сделки напишите причину.
err-deal-closed = Сделка уже закрыта — её этап больше не меняется.
err-snooze-range = Отложить можно на срок от минуты до 30 дней.
err-note-empty = { invalid-text }
err-note-too-long = { invalid-text }
err-outcome-unknown = Такого итога звонка нет.
err-consent-stopped = Клиент отписался от сообщений. Подписаться снова может только он сам — по новой ссылке из бота.
err-import-clash = Пока шёл импорт, данные изменились. Запустите импорт ещё раз.
err-hour-range = Час — число от 0 до 23.
err-date-invalid = Не могу прочитать дату. Пример: 2026-12-01.
err-period-order = Конец периода должен быть позже начала.
err-period-too-long = Период слишком длинный: не больше { $days } дней.

## Words a user types (parsed, not shown): comma-separated
words-skip = -, —, пропустить, нет
btn-task-rename = ✏️ Переименовать
btn-task-delete = 🗑 Удалить
btn-task-delete-yes = 🗑 Да, удалить
task-delete-ask = Удалить это дело? Оно не будет считаться выполненным.
task-deleted = Дело удалено.
task-rename-ask = Новое название для «{ $title }»:
task-renamed = ✏️ Переименовано.
snoozed-head = ⏰ Напомню { $when }.
next-step-ask = Что дальше? Когда следующий шаг — например, «завтра в 15», «в пятницу в 10», «через 2 часа» — или нажмите кнопку. Не нужно — «Отмена».
plan-ambiguous = { $early } или { $late }?
btn-note-edit = ✏️ Изменить
btn-note-delete = 🗑 Удалить
btn-note-delete-yes = 🗑 Да, удалить
btn-note-file = 📎 Получить файл
note-delete-ask = Удалить заметку?
note-deleted = Заметка удалена.
note-edit-ask = Новый текст заметки:
note-edited = ✏️ Заметка изменена.
note-followed-edit = ✏️ Заметка изменена вслед за сообщением.
note-voice = 🎤 Голосовое сообщение
note-photo = 🖼 Фото

## Import preview: which contacts change (roundtrip)
import-unchanged = Без изменений (всё уже так): { $count }
import-change = • строка { $row }, контакт #{ $id }: { $fields }
import-changes-more = • и ещё обновится: { $count }
import-field-name = ФИО
import-field-phones = телефоны
import-field-timezone = часовой пояс
import-field-owner = ответственный
import-field-email = email
import-field-birthday = дата рождения
import-field-source = источник
import-field-tags = теги
import-field-company = компания
import-field-comment = заметка
## One live call message (issue 21, defect 6)
callback-task-title = Перезвонить: { $name }
outgoing-known = 📤 <b>Исходящий звонок</b>
outgoing-unknown = 📤 <b>Исходящий звонок</b>: номер { $phone }
call-rings-at = ☎️ Звонок на линию: { $name }
call-live-answered = ✅ Идёт разговор
call-live-answered-by = ✅ Идёт разговор: { $name }
call-live-ended = ☑️ Звонок завершён, { $minutes }:{ $seconds }
call-live-missed = 📵 Пропущенный звонок
call-live-unanswered = 📵 Не дозвонились
call-live-failed = 📵 Звонок не состоялся: { $status }
missed-repeat = 🔁 Пропущено { $count } { $count ->
    [one] раз
    [few] раза
   *[many] раз
}, последний в { $time }

## Monthly targets (/targets)
targets-usage = План на месяц: /targets [2026-12] — посмотреть. Руководителю: <code>/targets set 2026-12 #ID сумма=500000 сделки=5 звонки=300</code> (вместо #ID — @username или имя; 0 убирает цель).
targets-none = На { $month } целей нет.
targets-title = <b>План на { $month }</b>
targets-person = { $name }: { $items }
targets-won_amount = сумма { $value }
targets-deals_won = сделок { $value }
targets-calls_out = исходящих звонков { $value }
targets-saved = ✅ Цели сохранены.
targets-word-won_amount = сумма
targets-word-deals_won = сделки
targets-word-calls_out = звонки
err-targets-manager-only = { error-forbidden }
err-month-invalid = Не могу прочитать месяц «{ $text }». Пример: 2026-12.
err-target-value-invalid = «{ $text }» — не цель: нужно число от 0 (0 убирает цель).
err-target-metric-invalid = Цели «{ $metric }» нет. Есть: сумма, сделки, звонки.
err-target-none = Укажите хотя бы одну цель, например звонки=300.
err-user-ambiguous = Сотрудников с именем «{ $name }» несколько — напишите #ID.
## Documents on cards
btn-documents = 📎 Документы ({ $count })
btn-documents-back = ↩️ К карточке
documents-title = 📎 Документы: { $card } ({ $count })
documents-none = Пока нет. Пришлите файл или фото ответом на карточку — он сохранится здесь.
document-saved = 📎 Сохранил в «{ $card }»: { $name } ({ $type }, { $size })
document-renamed = ⚠️ В имени было .{ $given }, а внутри { $type }: сохранил как { $name }
document-too-large = Файл слишком большой: { $size } МБ, можно до { $limit } МБ.
document-too-big-for-bot-api = Файл слишком большой для бота: { $size } МБ, а Telegram даёт ботам скачивать до 20 МБ. Загрузите его через REST API или попросите администратора подключить свой сервер Bot API.
document-no-card = Чтобы сохранить файл, отправьте его ответом на карточку клиента или сделки (или откройте карточку кнопкой и пришлите файл).
document-caption = { $name } · { $when }
document-kind = { $kind ->
    [pdf] PDF
    [docx] документ Word
    [xlsx] таблица
    [csv] таблица CSV
    [odt] документ ODT
    [text] текст
    [email] письмо
    [image] изображение
   *[other] файл
}
err-document-too-large = Файл больше { $limit } МБ — такой не сохраняю.
err-document-duplicate = Этот файл уже есть на карточке: { $name }.
err-document-key-reused = Этот ключ повтора уже использован для другого файла.
document-download-failed = Не получилось скачать файл у Telegram. Пришлите его ещё раз.
document-size-kb = { $size } КБ
document-size-mb = { $size } МБ
err-document-file-missing = Файла нет в хранилище — скажите администратору (папка документов потеряна или не общая).
## Client chats in the company bot (issue 17)
client-share-phone = 📱 Поделиться номером телефона
client-phone-thanks = Спасибо! Ваш номер у нас есть.
client-relay-header = 💬 <b>{ $name }</b>:
client-kind-album = (альбом)
client-kind-video_note = (видеосообщение)
client-kind-sticker = (стикер)
client-kind-location = (геопозиция)
client-kind-contact = (контакт)
client-kind-other = (сообщение)
client-forwarded = (переслано)
client-blocked-bot = { $name } заблокировал(а) бота: ваши сообщения больше не доходят. Когда клиент напишет снова, чат откроется.
client-reply-unsupported = Такое сообщение нельзя отправить клиенту.
client-write-prompt = { $name }: напишите сообщение клиенту (текст, фото, файл, голосовое…):
client-write-sent = Отправлено клиенту.
btn-client-card = 👤 { $name }
client-reply-which = В этом сообщении несколько клиентов. Кому отправить ответ?
client-reply-sent-to = Ответ отправлен: { $name }.
client-blocked = Клиент заблокирован: его сообщения больше не принимаются.
client-unblocked = Клиент снова может писать.
btn-write-client = ✉️ Написать клиенту
btn-block-client = 🚫 Заблокировать / разблокировать
reply-task-title = Ответить клиенту: { $name }
err-client-not-in-bot = Этот клиент ещё не писал боту.
err-client-unreachable = Клиент заблокировал бота; он должен написать первым.
err-client-blocked = Администратор заблокировал этого клиента.
err-message-empty = Сообщение пустое.
err-text-too-long = Текст слишком длинный (не больше 1000 символов).
client-start-id = <i>Ваш Telegram id: <code>{ $id }</code></i>
client-text-usage = Тексты, которые бот отправляет клиентам. Чтобы изменить: <code>/clienttext welcome|auto_reply|flood ru|en новый текст</code>; без текста вернётся встроенный.
client-text-current = <b>{ $name } ({ $language })</b>: { $text }
client-text-saved = Сохранено. Теперь клиенты прочитают: { $text }

## Find documents by content (/find)
menu-find = Найти документ по содержимому
find-hint = Напишите после /find слова из документа или его названия, например: /find договор поставки. Подойдёт любая форма слова; точную фразу возьмите в кавычки.
find-too-long = Слишком длинный запрос: не больше { $limit } символов.
find-nothing = Документов со словами «{ $query }» не нашёл.
find-title = 🔎 Документы по запросу «{ $query }»: { $count }
find-item = { $number }. { $icon } <b>{ $name }</b> · { $contact } · { $date }
find-no-contact = без клиента
find-expired = Поиск устарел — повторите /find.
err-search-too-many-words = В запросе слишком много слов — оставьте самые важные.
err-bad-kind = Такого типа документа нет.
err-bad-limit = { error-not-found }
err-bad-offset = { error-not-found }
err-bad-range = Начало периода должно быть раньше конца.
err-import-not-a-folder = Это не папка.
