// Every user-visible string lives here so a translation never needs a code change.
// Keys ending in `_one` / `_other` are plural forms picked by `t(key, { n })`;
// Chinese has no plural forms, so only `_other` is given there.

export const STRINGS = {
  en: {
    appName: "docker-image-sync",
    skipToContent: "Skip to content",
    noscript: "This page needs JavaScript.",

    themeMode_auto: "follow system",
    themeMode_light: "light",
    themeMode_dark: "dark",
    themeToggle: "Theme: {mode}. Switch to {next}.",
    langToggleText: "中文",
    langToggleLabel: "切换到中文 (Switch to Chinese)",

    syncTitle: "Sync images",
    syncIntro:
      "Copy images from public registries (docker.io, gcr.io, quay.io, registry.k8s.io, ghcr.io) into one of your private registries.",
    imagesLabel: "Images",
    imagesHint: "One image per line. Lines starting with # are comments.",
    imagesPlaceholder:
      "# one image per line\nnginx:1.25\nbitnami/redis:7.2\nregistry.k8s.io/pause:3.9",
    imagesCount_one: "{n} image",
    imagesCount_other: "{n} images",
    targetLabel: "Target registry",
    targetLoading: "Loading registries…",
    targetEmpty: "No registries configured",
    targetLoadFailed: "Could not load the registries: {error}",
    retry: "Retry",
    levelLabel: "Replacement level",
    level_skip: "Skip",
    level_all: "Replace all levels",
    level_1: "Replace 1 level",
    level_2: "Replace 2 levels",
    level_3: "Replace 3 levels",
    levelHelp_skip: "Keep the whole source path under the namespace.",
    levelHelp_all: "Keep only the image name.",
    levelHelp_1: "Drop the first path level.",
    levelHelp_2: "Drop the first two path levels.",
    levelHelp_3: "Drop the first three path levels.",
    levelOption: "{name} — {example}",
    namespaceLabel: "Namespace",
    optional: "optional",
    namespaceHintDefault: "Leave empty to use the registry's default: {ns}",
    namespaceHint: "Leave empty to use the registry's default.",
    submit: "Start sync",
    submitting: "Starting…",
    imagesSyntax: "A tag pattern such as {pattern} copies every matching tag; {latest} copies the 3 highest version tags.",

    preview: "Preview",
    previewing: "Previewing…",
    scriptDownload: "Download script",
    scriptDownloading: "Preparing…",
    scriptNote:
      "“Download script” gives a POSIX shell script that does the same copies with skopeo. It reads registry passwords from environment variables (DSYNC_<REGISTRY>_PASSWORD) and never contains them.",
    scriptDownloaded: "Downloaded {name}.",
    errLinesScript_one: "{n} line needs fixing — no script was made:",
    errLinesScript_other: "{n} lines need fixing — no script was made:",

    previewTitle: "Preview",
    previewClose: "Hide",
    previewStale: "The form has changed since this preview, so it may be out of date.",
    previewAgain: "Preview again",
    previewFailed: "Could not preview: {error}",
    previewMeta: "Target {target} · namespace {namespace} · replacement level: {level}",
    previewColLine: "Line",
    previewColInput: "Input",
    previewColResult: "Copies",
    previewSumImages_one: "{n} image will be copied",
    previewSumImages_other: "{n} images will be copied",
    previewSumDropped_one: "{n} dropped",
    previewSumDropped_other: "{n} dropped",
    previewSumErrors_one: "{n} line with errors",
    previewSumErrors_other: "{n} lines with errors",
    previewSummary: "{images}, {dropped}, {errors}.",
    previewReady: "No errors: “Start sync” will queue exactly these copies.",
    previewHasErrors: "Fix the lines with errors first: a list with any bad line is refused whole.",
    previewNothing: "Nothing would be copied, so there is nothing to start.",
    previewLineNothing: "Copies nothing.",
    previewTo: "to",
    previewDropped: "Dropped",
    previewErrorPrefix: "Error: ",
    previewMore_one: "Show {n} more",
    previewMore_other: "Show {n} more",
    dropExcluded: "excluded by pattern {pattern}",
    dropNotIncluded: "matches no include pattern",
    dropDuplicate: "duplicate of line {line}",

    errNoImages: "Enter at least one image.",
    errNoTarget: "Choose a target registry.",
    errLines_one: "{n} line needs fixing — nothing was started:",
    errLines_other: "{n} lines need fixing — nothing was started:",
    errLineRef: "line {line}",
    errLineJump: "Go to line {line} in the image list",
    errUnauthorized: "You are not signed in, or your session has expired.",
    errNetwork: "Could not reach the server. Check the connection and try again.",
    errServer: "The server answered with an error (HTTP {status}).",
    errBadResponse: "The server sent a response this page does not understand.",

    recentTitle: "Recent jobs",
    recentEmpty: "No jobs yet.",
    recentLoading: "Loading…",
    recentLoadFailed: "Could not load recent jobs: {error}",
    refresh: "Refresh",
    recentImages_one: "{n} image",
    recentImages_other: "{n} images",
    recentOpen: "Open job {id}",

    backToForm: "New sync",
    jobTitle: "Sync job",
    jobId: "Job ID",
    copy: "Copy",
    copied: "Copied",
    metaTarget: "Target",
    metaLevel: "Replacement level",
    metaNamespace: "Namespace",
    metaCreated: "Created",
    conn_connecting: "Connecting…",
    conn_live: "Live",
    conn_reconnecting: "Connection lost — retrying in {s} s",
    conn_finished: "Finished",
    conn_stopped: "Not updating",
    reconnectNow: "Retry now",
    countsLabel: "Show tasks by status",
    count_all: "All",
    overallProgress: "Overall progress",
    tasksTitle: "Tasks",
    noTasks: "This job has no tasks.",
    noTasksMatch: "No tasks with this status.",
    jobNotFound: "There is no job with this ID.",
    jobLoadFailed: "Could not load the job: {error}",
    filtered_one: "{n} line was filtered out and will not be synced:",
    filtered_other: "{n} lines were filtered out and will not be synced:",

    status_queued: "Queued",
    status_running: "Running",
    status_retrying: "Retrying",
    status_succeeded: "Succeeded",
    status_skipped: "Skipped",
    status_failed: "Failed",
    status_partial: "Partial",

    taskAttempt: "Attempt {n}",
    taskBlobs_one: "{n} blob copied",
    taskBlobs_other: "{n} blobs copied",
    taskImagesOf: "{done} of {total} images",
    taskImages_one: "{n} image done",
    taskImages_other: "{n} images done",
    taskTook: "took {d}",
    taskSkippedNote: "The target already has this digest",
    taskShowError: "Error",
    taskRetryIn: "Retrying in {s} s…",
    taskRetryFailed: "Attempt {n} failed",
    taskRequeued: "Requeued: {reason}",
    taskWaiting: "Waiting: {reason}",
    taskWaitingUntil: "Waiting: {reason} (at the latest until {time})",
    taskProgressLabel: "Task {index} progress",

    announceProgress: "{done} of {total} tasks done, {failed} failed",
    announceFinished: "Job finished: {status}",

    notFoundTitle: "Page not found",
    notFoundBody: "This address does not match any page.",
    goHome: "Go to the sync form",

    dur_ms: "{n} ms",
    dur_s: "{n} s",
    dur_m: "{m} min {s} s",
    dur_h: "{h} h {m} min",

    // Accounts: shared
    role_viewer: "Viewer",
    role_operator: "Operator",
    role_admin: "Administrator",
    roleHelp_viewer: "Can watch jobs and registries, but not start syncs.",
    roleHelp_operator: "Can also start syncs.",
    roleHelp_admin: "Can also manage users and read the audit log.",
    loading: "Loading…",
    loadFailed: "Could not load: {error}",
    close: "Close",
    cancel: "Cancel",
    done: "Done",
    save: "Save",
    edit: "Edit",
    delete: "Delete",
    generate: "Generate",
    copySelect: "Press Ctrl+C",
    never: "Never",
    you: "you",
    wait_s: "{n} s",
    wait_min: "{n} min",

    // Top bar
    accountMenu: "Account",
    accountButton: "Account menu: {name}, {role}",
    navSync: "Sync images",
    navTokens: "API tokens",
    navPassword: "Change password",
    navUsers: "Users",
    navAudit: "Audit log",
    logout: "Log out",
    logoutFailed: "Could not log out: {error}",
    loggedOut: "You have logged out.",
    sessionEnded: "Your session has ended. Sign in again to continue.",

    // Login
    loginTitle: "Sign in",
    loginIntro: "Sign in to sync images and follow their progress.",
    usernameLabel: "Username",
    passwordLabel: "Password",
    showPassword: "Show password",
    rememberMe: "Remember me",
    rememberMeHint: "Stay signed in on this device, also after closing the browser. Leave it off on shared computers.",
    loginSubmit: "Sign in",
    errNoUsername: "Enter your username.",
    errNoPassword: "Enter a password.",
    loginInvalid: "The username or password is wrong.",
    loginLocked: "Too many failed attempts. Try again in {time}.",

    // Change password
    passwordTitle: "Change password",
    passwordIntro: "Choose a new password for signing in. Your other sessions end; this one stays signed in.",
    firstLoginTitle: "Set your own password to continue",
    firstLoginBody:
      "You signed in with a password that was generated for you. Choose one only you know; until then nothing else is available.",
    passwordManagedByFile:
      "Your account is managed in users.yaml, so its password can only be changed there by whoever runs this service.",
    currentPasswordLabel: "Current password",
    newPasswordLabel: "New password",
    repeatPasswordLabel: "Repeat the new password",
    showPasswords: "Show passwords",
    passwordHint: "At least {n} characters. A few unrelated words make a long password that is easy to remember.",
    passwordSubmit: "Change password",
    errNoCurrentPassword: "Enter your current password.",
    errNoNewPassword: "Enter a new password.",
    errPasswordSame: "The new password must differ from the current one.",
    errPasswordMismatch: "The two new passwords do not match.",
    errPasswordTooShort: "The password must have at least {n} characters.",
    errCurrentPasswordWrong: "The current password is wrong.",
    passwordChanged: "Your password has been changed.",

    // Sync form, for viewers
    viewerNoSubmit: "Your role ({role}) can watch syncs but not start them.",

    // Tokens
    tokensTitle: "API tokens",
    tokensIntro:
      "A token lets a script or CI job call the api as you, without your password. It has the role you choose here, never more than your own.",
    tokenCreateTitle: "New token",
    tokenNameLabel: "Name",
    tokenNamePlaceholder: "e.g. ci-pipeline",
    tokenRoleLabel: "Role",
    tokenRoleHint: "Your own role or a lower one.",
    tokenExpiryLabel: "Expires",
    expiresInDays_one: "in {n} day",
    expiresInDays_other: "in {n} days",
    expiresNever: "Never",
    tokenCreate: "Create token",
    errTokenName: "Give the token a name, so you can tell it apart later.",
    tokenNewTitle: "New token “{name}”",
    tokenNewWarning: "Copy this token now. It is shown only this once and cannot be shown again.",
    tokenNewUsage:
      "Keep it like a password: anyone holding it can call the api with its role until it expires or is revoked.",
    tokenNewDone: "Done, I have copied it",
    tokenValueLabel: "The new token",
    tokensListTitle: "Your tokens",
    tokensEmpty: "You have no tokens.",
    colName: "Name",
    colRole: "Role",
    colCreated: "Created",
    colLastUsed: "Last used",
    colExpires: "Expires",
    colActions: "Actions",
    neverUsed: "Never used",
    tokenExpired: "Expired",
    tokenRevoke: "Revoke",
    tokenRevokeNamed: "Revoke token {name}",
    tokenRevokeTitle: "Revoke this token?",
    tokenRevokeBody: "Scripts using the token “{name}” will be refused from now on. This cannot be undone.",
    tokenRevoked: "Token “{name}” revoked.",

    // Users
    usersTitle: "Users",
    usersIntro:
      "Accounts that can sign in. Users declared in users.yaml are read-only here; change them in that file.",
    userCreate: "New user",
    usersEmpty: "There are no users.",
    colUser: "User",
    colStatus: "Status",
    colLastLogin: "Last login",
    userActive: "Active",
    userInactive: "Inactive",
    managedByFile: "managed by users.yaml",
    managedByFileHint: "Declared in users.yaml: edit that file to change this user.",
    loginHistory: "Logins",
    loginHistoryOf: "Login history of {name}",
    loginHistoryEmpty: "No logins recorded.",
    loginOk: "Success",
    loginFailed: "Failed",
    editUserNamed: "Edit {name}",
    resetPassword: "Reset password",
    resetPasswordNamed: "Reset the password of {name}",
    deleteUserNamed: "Delete {name}",
    userCreateTitle: "New user",
    userCreateSubmit: "Create user",
    usernameRule: "1 to 64 letters, digits, “.”, “_”, “-” or “@”. Cannot be changed later.",
    errUsernameRule: "Use 1 to 64 letters, digits, “.”, “_”, “-” or “@”.",
    displayNameLabel: "Display name",
    emailLabel: "Email",
    errEmail: "This does not look like an email address.",
    roleLabel: "Role",
    userActiveLabel: "Active (can sign in)",
    userInactiveHint: "An inactive user is signed out at once and cannot sign in; their account and history are kept.",
    initialPasswordLabel: "Password",
    generatedPasswordHint: "Generated for you; you may type another instead.",
    initialPasswordHandOver: "Give the user this password over a safe channel. It is not shown again.",
    userCreated: "User {name} created.",
    editUserTitle: "Edit user {name}",
    editSelfHint: "You cannot change your own role or deactivate yourself; another admin can.",
    userSaved: "User {name} saved.",
    resetPasswordTitle: "Reset the password of {name}",
    resetPasswordBody:
      "{name} gets this new password and must replace it at the next sign-in. Their current password stops working and their sessions end at once.",
    passwordResetDone: "The password of {name} was reset. Give them the new one over a safe channel; it is not shown again.",
    deleteUserTitle: "Delete user {name}?",
    deleteUserBody: "{name} will no longer be able to sign in. Their audit entries are kept. This cannot be undone.",
    userDeleted: "User {name} deleted.",

    // Audit
    auditTitle: "Audit log",
    auditIntro: "Who did what, newest first: sign-ins, account changes, tokens and submitted syncs.",
    auditActorLabel: "Actor",
    auditActorPlaceholder: "username",
    auditActionLabel: "Action starts with",
    auditActionPlaceholder: "e.g. login. or user.",
    auditApply: "Filter",
    auditClear: "Clear",
    colTime: "Time",
    colActor: "Actor",
    colAction: "Action",
    colTarget: "Target",
    colClient: "Client",
    colDetail: "Detail",
    auditEmpty: "The audit log is empty.",
    auditNoMatch: "No entries match these filters.",
    auditPaging: "Audit log pages",
    auditNewer: "← Newer",
    auditOlder: "Older →",
    auditPage: "Page {n}",
    auditFilterActor: "Show only entries by {actor}",

    // Access
    forbiddenTitle: "Not allowed",
    forbiddenBody: "This page is for administrators. Your role is {role}.",
    unavailableTitle: "Cannot reach the server",
    unavailableBody: "Could not check whether you are signed in: {error}",
  },

  zh: {
    appName: "docker-image-sync",
    skipToContent: "跳到主要内容",
    noscript: "此页面需要启用 JavaScript。",

    themeMode_auto: "跟随系统",
    themeMode_light: "浅色",
    themeMode_dark: "深色",
    themeToggle: "主题：{mode}。切换为{next}。",
    langToggleText: "EN",
    langToggleLabel: "Switch to English (切换到英文)",

    syncTitle: "同步镜像",
    syncIntro:
      "把公共仓库（docker.io、gcr.io、quay.io、registry.k8s.io、ghcr.io）中的镜像复制到你的私有仓库。",
    imagesLabel: "镜像列表",
    imagesHint: "每行一个镜像，以 # 开头的行是注释。",
    imagesPlaceholder:
      "# 每行一个镜像\nnginx:1.25\nbitnami/redis:7.2\nregistry.k8s.io/pause:3.9",
    imagesCount_other: "{n} 个镜像",
    targetLabel: "目标仓库",
    targetLoading: "正在加载仓库…",
    targetEmpty: "尚未配置任何仓库",
    targetLoadFailed: "无法加载仓库列表：{error}",
    retry: "重试",
    levelLabel: "替换级别",
    level_skip: "跳过",
    level_all: "替换所有级",
    level_1: "替换1级",
    level_2: "替换2级",
    level_3: "替换3级",
    levelHelp_skip: "在命名空间下保留完整的源路径。",
    levelHelp_all: "只保留镜像名。",
    levelHelp_1: "去掉路径的第一级。",
    levelHelp_2: "去掉路径的前两级。",
    levelHelp_3: "去掉路径的前三级。",
    levelOption: "{name}（{example}）",
    namespaceLabel: "命名空间",
    optional: "可选",
    namespaceHintDefault: "留空则使用该仓库的默认命名空间：{ns}",
    namespaceHint: "留空则使用该仓库的默认命名空间。",
    submit: "开始同步",
    submitting: "正在提交…",
    imagesSyntax: "可以使用标签模式：{pattern} 复制所有匹配的标签；{latest} 复制版本号最高的 3 个标签。",

    preview: "预览",
    previewing: "正在预览…",
    scriptDownload: "下载脚本",
    scriptDownloading: "正在生成…",
    scriptNote:
      "“下载脚本”会生成一个 POSIX shell 脚本，用 skopeo 完成同样的复制。脚本从环境变量（DSYNC_<REGISTRY>_PASSWORD）读取仓库密码，本身不包含任何密码。",
    scriptDownloaded: "已下载 {name}。",
    errLinesScript_other: "有 {n} 行需要修改，脚本未生成：",

    previewTitle: "预览",
    previewClose: "隐藏",
    previewStale: "表单在预览之后已修改，预览结果可能已过时。",
    previewAgain: "重新预览",
    previewFailed: "无法预览：{error}",
    previewMeta: "目标仓库 {target} · 命名空间 {namespace} · 替换级别：{level}",
    previewColLine: "行",
    previewColInput: "输入",
    previewColResult: "复制内容",
    previewSumImages_other: "将复制 {n} 个镜像",
    previewSumDropped_other: "过滤 {n} 个",
    previewSumErrors_other: "{n} 行有错误",
    previewSummary: "{images}，{dropped}，{errors}。",
    previewReady: "没有错误：“开始同步”将正好排队这些复制。",
    previewHasErrors: "请先修改有错误的行：列表中只要有一行错误，整个任务都会被拒绝。",
    previewNothing: "没有需要复制的镜像，无法开始同步。",
    previewLineNothing: "不复制任何镜像。",
    previewTo: "到",
    previewDropped: "已过滤",
    previewErrorPrefix: "错误：",
    previewMore_other: "再显示 {n} 个",
    dropExcluded: "被规则 {pattern} 排除",
    dropNotIncluded: "不匹配任何包含规则",
    dropDuplicate: "与第 {line} 行重复",

    errNoImages: "请至少输入一个镜像。",
    errNoTarget: "请选择目标仓库。",
    errLines_other: "有 {n} 行需要修改，同步尚未开始：",
    errLineRef: "第 {line} 行",
    errLineJump: "跳到镜像列表的第 {line} 行",
    errUnauthorized: "你尚未登录，或登录已过期。",
    errNetwork: "无法连接服务器，请检查网络后重试。",
    errServer: "服务器返回错误（HTTP {status}）。",
    errBadResponse: "服务器的响应无法识别。",

    recentTitle: "最近的任务",
    recentEmpty: "还没有任务。",
    recentLoading: "正在加载…",
    recentLoadFailed: "无法加载最近的任务：{error}",
    refresh: "刷新",
    recentImages_other: "{n} 个镜像",
    recentOpen: "打开任务 {id}",

    backToForm: "新建同步",
    jobTitle: "同步任务",
    jobId: "任务 ID",
    copy: "复制",
    copied: "已复制",
    metaTarget: "目标仓库",
    metaLevel: "替换级别",
    metaNamespace: "命名空间",
    metaCreated: "创建时间",
    conn_connecting: "正在连接…",
    conn_live: "实时更新中",
    conn_reconnecting: "连接已断开，{s} 秒后重连",
    conn_finished: "已结束",
    conn_stopped: "已停止更新",
    reconnectNow: "立即重连",
    countsLabel: "按状态筛选镜像",
    count_all: "全部",
    overallProgress: "总体进度",
    tasksTitle: "镜像",
    noTasks: "此任务没有镜像。",
    noTasksMatch: "没有处于此状态的镜像。",
    jobNotFound: "找不到此 ID 的任务。",
    jobLoadFailed: "无法加载任务：{error}",
    filtered_other: "有 {n} 行被过滤，不会同步：",

    status_queued: "排队中",
    status_running: "同步中",
    status_retrying: "重试中",
    status_succeeded: "成功",
    status_skipped: "已跳过",
    status_failed: "失败",
    status_partial: "部分失败",

    taskAttempt: "第 {n} 次尝试",
    taskBlobs_other: "已复制 {n} 个 blob",
    taskImagesOf: "镜像 {done}/{total}",
    taskImages_other: "已完成 {n} 个镜像",
    taskTook: "耗时 {d}",
    taskSkippedNote: "目标仓库已有相同 digest 的镜像",
    taskShowError: "错误",
    taskRetryIn: "{s} 秒后重试…",
    taskRetryFailed: "第 {n} 次尝试失败",
    taskRequeued: "已重新排队：{reason}",
    taskWaiting: "等待中：{reason}",
    taskWaitingUntil: "等待中：{reason}（最迟到 {time}）",
    taskProgressLabel: "第 {index} 个镜像的进度",

    announceProgress: "已完成 {done}/{total} 个，失败 {failed} 个",
    announceFinished: "任务结束：{status}",

    notFoundTitle: "页面不存在",
    notFoundBody: "没有与此地址对应的页面。",
    goHome: "返回同步页面",

    dur_ms: "{n} 毫秒",
    dur_s: "{n} 秒",
    dur_m: "{m} 分 {s} 秒",
    dur_h: "{h} 小时 {m} 分",

    // Accounts: shared
    role_viewer: "查看者",
    role_operator: "操作员",
    role_admin: "管理员",
    roleHelp_viewer: "可以查看任务和仓库，但不能发起同步。",
    roleHelp_operator: "还可以发起同步。",
    roleHelp_admin: "还可以管理用户、查看审计日志。",
    loading: "正在加载…",
    loadFailed: "加载失败：{error}",
    close: "关闭",
    cancel: "取消",
    done: "完成",
    save: "保存",
    edit: "编辑",
    delete: "删除",
    generate: "随机生成",
    copySelect: "请按 Ctrl+C",
    never: "从未",
    you: "你",
    wait_s: "{n} 秒",
    wait_min: "{n} 分钟",

    // Top bar
    accountMenu: "账户",
    accountButton: "账户菜单：{name}，{role}",
    navSync: "同步镜像",
    navTokens: "API 令牌",
    navPassword: "修改密码",
    navUsers: "用户管理",
    navAudit: "审计日志",
    logout: "退出登录",
    logoutFailed: "退出登录失败：{error}",
    loggedOut: "你已退出登录。",
    sessionEnded: "登录已过期，请重新登录后继续。",

    // Login
    loginTitle: "登录",
    loginIntro: "登录后即可同步镜像并查看进度。",
    usernameLabel: "用户名",
    passwordLabel: "密码",
    showPassword: "显示密码",
    rememberMe: "记住我",
    rememberMeHint: "关闭浏览器后仍在此设备上保持登录。公用电脑上请勿勾选。",
    loginSubmit: "登录",
    errNoUsername: "请输入用户名。",
    errNoPassword: "请输入密码。",
    loginInvalid: "用户名或密码错误。",
    loginLocked: "失败次数过多，请在 {time}后重试。",

    // Change password
    passwordTitle: "修改密码",
    passwordIntro: "为登录设置一个新密码。你在其他地方的登录会结束，当前登录保持不变。",
    firstLoginTitle: "请先设置你自己的密码",
    firstLoginBody: "你使用的是系统生成的密码。请设置一个只有你知道的新密码，设置之前无法使用其他功能。",
    passwordManagedByFile: "你的账户由 users.yaml 管理，密码只能由服务的运维人员在该文件中修改。",
    currentPasswordLabel: "当前密码",
    newPasswordLabel: "新密码",
    repeatPasswordLabel: "再次输入新密码",
    showPasswords: "显示密码",
    passwordHint: "至少 {n} 个字符。几个不相关的词组合在一起，既长又好记。",
    passwordSubmit: "修改密码",
    errNoCurrentPassword: "请输入当前密码。",
    errNoNewPassword: "请输入新密码。",
    errPasswordSame: "新密码不能与当前密码相同。",
    errPasswordMismatch: "两次输入的新密码不一致。",
    errPasswordTooShort: "密码至少需要 {n} 个字符。",
    errCurrentPasswordWrong: "当前密码不正确。",
    passwordChanged: "密码已修改。",

    // Sync form, for viewers
    viewerNoSubmit: "你的角色（{role}）只能查看同步，不能发起同步。",

    // Tokens
    tokensTitle: "API 令牌",
    tokensIntro: "令牌让脚本或 CI 任务以你的身份调用 API，而无需你的密码。令牌的角色由你在此选择，不会高于你自己的角色。",
    tokenCreateTitle: "新建令牌",
    tokenNameLabel: "名称",
    tokenNamePlaceholder: "例如 ci-pipeline",
    tokenRoleLabel: "角色",
    tokenRoleHint: "你自己的角色或更低的角色。",
    tokenExpiryLabel: "有效期",
    expiresInDays_other: "{n} 天",
    expiresNever: "永不过期",
    tokenCreate: "创建令牌",
    errTokenName: "请为令牌命名，以便日后区分。",
    tokenNewTitle: "新令牌“{name}”",
    tokenNewWarning: "请立即复制此令牌。它只显示这一次，之后无法再次查看。",
    tokenNewUsage: "请像密码一样妥善保管：任何持有它的人都能以其角色调用 API，直到它过期或被吊销。",
    tokenNewDone: "完成，我已复制",
    tokenValueLabel: "新令牌",
    tokensListTitle: "我的令牌",
    tokensEmpty: "你还没有令牌。",
    colName: "名称",
    colRole: "角色",
    colCreated: "创建时间",
    colLastUsed: "最近使用",
    colExpires: "过期时间",
    colActions: "操作",
    neverUsed: "从未使用",
    tokenExpired: "已过期",
    tokenRevoke: "吊销",
    tokenRevokeNamed: "吊销令牌 {name}",
    tokenRevokeTitle: "吊销此令牌？",
    tokenRevokeBody: "使用令牌“{name}”的脚本将立即被拒绝。此操作无法撤销。",
    tokenRevoked: "令牌“{name}”已吊销。",

    // Users
    usersTitle: "用户管理",
    usersIntro: "可以登录的账户。users.yaml 中声明的用户在此只读，请在该文件中修改。",
    userCreate: "新建用户",
    usersEmpty: "还没有用户。",
    colUser: "用户",
    colStatus: "状态",
    colLastLogin: "最近登录",
    userActive: "已启用",
    userInactive: "已停用",
    managedByFile: "由 users.yaml 管理",
    managedByFileHint: "在 users.yaml 中声明：请修改该文件来变更此用户。",
    loginHistory: "登录记录",
    loginHistoryOf: "{name} 的登录记录",
    loginHistoryEmpty: "没有登录记录。",
    loginOk: "成功",
    loginFailed: "失败",
    editUserNamed: "编辑 {name}",
    resetPassword: "重置密码",
    resetPasswordNamed: "重置 {name} 的密码",
    deleteUserNamed: "删除 {name}",
    userCreateTitle: "新建用户",
    userCreateSubmit: "创建用户",
    usernameRule: "1 到 64 个字母、数字或“.”“_”“-”“@”。创建后不能修改。",
    errUsernameRule: "请使用 1 到 64 个字母、数字或“.”“_”“-”“@”。",
    displayNameLabel: "显示名称",
    emailLabel: "邮箱",
    errEmail: "邮箱地址格式不正确。",
    roleLabel: "角色",
    userActiveLabel: "启用（可以登录）",
    userInactiveHint: "停用的用户会立即被登出且无法再登录，其账户和记录会保留。",
    initialPasswordLabel: "密码",
    generatedPasswordHint: "已为你随机生成，也可以自行输入。",
    initialPasswordHandOver: "请通过安全的渠道把此密码交给用户。它不会再次显示。",
    userCreated: "用户 {name} 已创建。",
    editUserTitle: "编辑用户 {name}",
    editSelfHint: "你不能修改自己的角色或停用自己，可由其他管理员操作。",
    userSaved: "用户 {name} 已保存。",
    resetPasswordTitle: "重置 {name} 的密码",
    resetPasswordBody: "{name} 将获得此新密码，并须在下次登录时修改。其当前密码和所有登录立即失效。",
    passwordResetDone: "{name} 的密码已重置。请通过安全的渠道把新密码交给对方，它不会再次显示。",
    deleteUserTitle: "删除用户 {name}？",
    deleteUserBody: "{name} 将无法再登录，其审计记录会保留。此操作无法撤销。",
    userDeleted: "用户 {name} 已删除。",

    // Audit
    auditTitle: "审计日志",
    auditIntro: "谁在何时做了什么，按时间倒序：登录、账户变更、令牌和提交的同步。",
    auditActorLabel: "操作者",
    auditActorPlaceholder: "用户名",
    auditActionLabel: "操作前缀",
    auditActionPlaceholder: "例如 login. 或 user.",
    auditApply: "筛选",
    auditClear: "清除",
    colTime: "时间",
    colActor: "操作者",
    colAction: "操作",
    colTarget: "对象",
    colClient: "客户端",
    colDetail: "详情",
    auditEmpty: "审计日志为空。",
    auditNoMatch: "没有符合筛选条件的记录。",
    auditPaging: "审计日志翻页",
    auditNewer: "← 较新",
    auditOlder: "较早 →",
    auditPage: "第 {n} 页",
    auditFilterActor: "只看 {actor} 的记录",

    // Access
    forbiddenTitle: "无权访问",
    forbiddenBody: "此页面仅供管理员使用。你的角色是{role}。",
    unavailableTitle: "无法连接服务器",
    unavailableBody: "无法确认你的登录状态：{error}",
  },
};

export const LANGS = ["en", "zh"];
const STORAGE_KEY = "dis.lang";

function stored() {
  // Storage can throw (disabled cookies, some private modes); the page must still work.
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function initialLang() {
  const saved = stored();
  if (LANGS.includes(saved)) return saved;
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language || "en"];
  return String(langs[0]).toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current = initialLang();
const listeners = new Set();

export function getLang() {
  return current;
}

/** BCP 47 tag for Intl and the `lang` attribute. */
export function locale() {
  return current === "zh" ? "zh-CN" : "en";
}

export function setLang(lang) {
  if (!LANGS.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    /* not remembered, still switched */
  }
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function t(key, params = {}) {
  const dict = STRINGS[current];
  let template;
  if (typeof params.n === "number") {
    const form = params.n === 1 ? "one" : "other";
    template = dict[`${key}_${form}`] ?? dict[`${key}_other`] ?? STRINGS.en[`${key}_${form}`];
  }
  template ??= dict[key] ?? STRINGS.en[key];
  if (template === undefined) {
    // A missing key should be visible in testing, never crash the page.
    console.warn(`i18n: missing key ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * Fill static markup: `data-i18n` sets text, `data-i18n-<attr>` sets that attribute
 * (placeholder, aria-label, title).
 */
export function applyStatic(root = document) {
  document.documentElement.lang = locale();
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const attr of ["placeholder", "aria-label", "title"]) {
    const dataName = `i18n${attr.replace(/(^|-)(\w)/g, (_, _d, c) => c.toUpperCase())}`;
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.dataset[dataName]));
    }
  }
}
