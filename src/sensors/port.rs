//! Graph's sensor endpoints as the domain sees them: the port the sensor, health and candidate
//! operations read and write through ([`crate::graph::GraphSession`] implements it; a scripted
//! fake does in unit tests).

use std::future::Future;

use super::health::HealthIssuesAnswer;
use super::model::{PackageAnswer, SensorsAnswer};
use crate::candidates::{ActivationMode, ActivationModeAnswer, CandidateList, ServerIds};
use crate::deadline::Deadline;
use crate::upstream::GraphError;

/// Graph's sensor endpoints, as the domain sees them.
pub trait SensorSource: Send + Sync {
    fn deployment_package(&self, deadline: Deadline) -> impl Future<Output = Result<PackageAnswer, GraphError>> + Send;
    /// Every sensor, following Graph's paging to the end.
    fn sensors(&self, deadline: Deadline) -> impl Future<Output = Result<SensorsAnswer, GraphError>> + Send;
    /// Every health issue of the tenant, following Graph's paging to the end.
    fn health_issues(&self, deadline: Deadline) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send;
    /// The tenant's open health issues (`status` `open`), following Graph's paging to the end:
    /// what a verdict's explanation reads. Never a closed or suppressed issue. By default every
    /// issue is read and the others dropped; the Graph adapter asks Graph for the open ones only.
    fn open_health_issues(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send {
        async move {
            let mut answer = self.health_issues(deadline).await?;
            answer.issues.retain(super::health::HealthIssue::is_open);
            Ok(answer)
        }
    }
    /// Every sensor candidate, following Graph's paging to the end.
    fn sensor_candidates(&self, deadline: Deadline) -> impl Future<Output = Result<CandidateList, GraphError>> + Send;
    fn activation_mode(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send;
    /// Asks Graph to activate the sensor on `servers`; `Ok` is Graph's request id.
    fn activate(
        &self,
        servers: &ServerIds,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Option<String>, GraphError>> + Send;
    fn set_activation_mode(
        &self,
        mode: ActivationMode,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send;
}

impl<T: SensorSource + ?Sized> SensorSource for std::sync::Arc<T> {
    fn deployment_package(&self, deadline: Deadline) -> impl Future<Output = Result<PackageAnswer, GraphError>> + Send {
        (**self).deployment_package(deadline)
    }

    fn sensors(&self, deadline: Deadline) -> impl Future<Output = Result<SensorsAnswer, GraphError>> + Send {
        (**self).sensors(deadline)
    }

    fn health_issues(&self, deadline: Deadline) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send {
        (**self).health_issues(deadline)
    }

    fn open_health_issues(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<HealthIssuesAnswer, GraphError>> + Send {
        (**self).open_health_issues(deadline)
    }

    fn sensor_candidates(&self, deadline: Deadline) -> impl Future<Output = Result<CandidateList, GraphError>> + Send {
        (**self).sensor_candidates(deadline)
    }

    fn activation_mode(
        &self,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send {
        (**self).activation_mode(deadline)
    }

    fn activate(
        &self,
        servers: &ServerIds,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Option<String>, GraphError>> + Send {
        (**self).activate(servers, deadline)
    }

    fn set_activation_mode(
        &self,
        mode: ActivationMode,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ActivationModeAnswer, GraphError>> + Send {
        (**self).set_activation_mode(mode, deadline)
    }
}
