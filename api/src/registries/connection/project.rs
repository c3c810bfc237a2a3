//! Step 5 (Harbor only), `project`: the project exists, or `create_project` will create it.

use docker_sync_common::registry::harbor::HarborClient;

use super::{Run, Stopped};

impl Run<'_> {
    pub(super) async fn project(&mut self) -> Result<(), Stopped> {
        let name = self.name;
        let Some(project) = self.registry.harbor_project().map(str::to_owned) else {
            let m = self.say(
                format!("registry `{name}` names no Harbor project: set `project`"),
                format!("仓库 `{name}` 没有指定 Harbor 项目：请设置 `project`"),
            );
            return Err(self.fail("project", m));
        };
        let harbor = HarborClient::new(self.limits.request);
        match harbor.project_exists(self.registry, &project).await {
            Ok(true) => {
                let m = self.say(
                    format!("project `{project}` exists"),
                    format!("项目 `{project}` 已存在"),
                );
                self.pass("project", m);
                Ok(())
            }
            Ok(false) if self.registry.create_project => {
                let m = self.say(
                    format!(
                        "project `{project}` does not exist yet; auto-create is on \
                         (`create_project: true`): it is created before the first push into it"
                    ),
                    format!(
                        "项目 `{project}` 还不存在；已开启自动创建（`create_project: true`）：首次推送前会创建它"
                    ),
                );
                self.pass("project", m);
                Ok(())
            }
            Ok(false) => {
                let m = self.say(
                    format!(
                        "project `{project}` does not exist, and auto-create is off: create it in \
                         Harbor, or set `create_project: true` for registry `{name}`"
                    ),
                    format!(
                        "项目 `{project}` 不存在，且未开启自动创建：请在 Harbor 中创建它，或为仓库 `{name}` 设置 `create_project: true`"
                    ),
                );
                Err(self.fail("project", m))
            }
            Err(e) => Err(self.fail("project", e.to_string())),
        }
    }
}
